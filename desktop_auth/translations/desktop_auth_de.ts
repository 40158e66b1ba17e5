<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About desktop-auth</source>
        <translation>Über desktop-auth</translation>
    </message>
    <message>
        <source>A desktop account manager.</source>
        <translation>Eine Kontoverwaltung für den Desktop.</translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation>Programm&amp;version:</translation>
    </message>
    <message>
        <source>&amp;Database:</source>
        <translation>&amp;Datenbank:</translation>
    </message>
    <message>
        <source>&amp;Licence:</source>
        <translation>&amp;Lizenz:</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>Wird gelesen…</translation>
    </message>
</context>
<context>
    <name>AccountWindow</name>
    <message>
        <source>This is your first sign-in</source>
        <translation>Dies ist Ihre erste Anmeldung</translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up with Two-factor sign-in… (Alt+T) to go on administering.</source>
        <translation>Administratoren müssen jetzt die Zwei-Faktor-Anmeldung verwenden: Richten Sie sie über „Zwei-Faktor-Anmeldung…“ (Alt+T) ein, um weiterhin Verwaltungsaufgaben ausführen zu können.</translation>
    </message>
    <message>
        <source>{email} — desktop-auth</source>
        <translation>{email} — desktop-auth</translation>
    </message>
    <message>
        <source>Your account</source>
        <translation>Ihr Konto</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>Konto</translation>
    </message>
    <message>
        <source>You are signed in.</source>
        <translation>Sie sind angemeldet.</translation>
    </message>
    <message>
        <source>Email:</source>
        <translation>E-Mail:</translation>
    </message>
    <message>
        <source>Role:</source>
        <translation>Rolle:</translation>
    </message>
    <message>
        <source>Last sign-in:</source>
        <translation>Letzte Anmeldung:</translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation>Zwei-Faktor-Anmeldung:</translation>
    </message>
    <message>
        <source>&amp;Change password…</source>
        <translation>&amp;Passwort ändern…</translation>
    </message>
    <message>
        <source>Change password</source>
        <translation>Passwort ändern</translation>
    </message>
    <message>
        <source>Change &amp;email…</source>
        <translation>&amp;E-Mail-Adresse ändern…</translation>
    </message>
    <message>
        <source>Change email address</source>
        <translation>E-Mail-Adresse ändern</translation>
    </message>
    <message>
        <source>&amp;Delete account…</source>
        <translation>Konto &amp;löschen…</translation>
    </message>
    <message>
        <source>Delete your account</source>
        <translation>Ihr Konto löschen</translation>
    </message>
    <message>
        <source>&amp;Role editor…</source>
        <translation>&amp;Rolleneditor…</translation>
    </message>
    <message>
        <source>Open the role editor</source>
        <translation>Rolleneditor öffnen</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>Hilfe</translation>
    </message>
    <message>
        <source>Help for this window (F1)</source>
        <translation>Hilfe zu diesem Fenster (F1)</translation>
    </message>
    <message>
        <source>&amp;About…</source>
        <translation>Ü&amp;ber…</translation>
    </message>
    <message>
        <source>About desktop-auth</source>
        <translation>Über desktop-auth</translation>
    </message>
    <message>
        <source>Sign &amp;out</source>
        <translation>&amp;Abmelden</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <source>Recover&amp;y codes…</source>
        <translation>&amp;Wiederherstellungscodes…</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>Wiederherstellungscodes</translation>
    </message>
    <message>
        <source>&amp;Two-factor sign-in…</source>
        <translation>Zwei-Fak&amp;tor-Anmeldung…</translation>
    </message>
    <message>
        <source>Two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung</translation>
    </message>
    <message>
        <source>Signed in as {email}</source>
        <translation>Angemeldet als {email}</translation>
    </message>
    <message numerus="yes">
        <source>You were signed out after {n} minute without activity.</source>
        <comment>You were signed out after {n} minutes without activity.</comment>
        <translation>
            <numerusform>Sie wurden nach {n} Minute ohne Aktivität abgemeldet.</numerusform>
            <numerusform>Sie wurden nach {n} Minuten ohne Aktivität abgemeldet.</numerusform>
        </translation>
    </message>
    <message>
        <source>{action} ({keys})</source>
        <translation>{action} ({keys})</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>Systemstandard</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Sprache:</translation>
    </message>
    <message>
        <source>The DESKTOP_AUTH_LANGUAGE environment variable decides the language for now: your choice applies once it is unset.</source>
        <translation>Die Umgebungsvariable DESKTOP_AUTH_LANGUAGE legt derzeit die Sprache fest: Ihre Auswahl gilt, sobald sie nicht mehr gesetzt ist.</translation>
    </message>
    <message>
        <source>Your session ended.</source>
        <translation>Ihre Sitzung wurde beendet.</translation>
    </message>
    <message>
        <source>Your password was changed.</source>
        <translation>Ihr Passwort wurde geändert.</translation>
    </message>
    <message>
        <source>On</source>
        <translation>An</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <source>Two-factor sign-in (on)</source>
        <translation>Zwei-Faktor-Anmeldung (an)</translation>
    </message>
    <message>
        <source>Two-factor sign-in (off)</source>
        <translation>Zwei-Faktor-Anmeldung (aus)</translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: turn it off</source>
        <translation>Zwei-Faktor-Anmeldung ist an: ausschalten</translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: turn it on</source>
        <translation>Zwei-Faktor-Anmeldung ist aus: einschalten</translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: signing in asks for your password only.</source>
        <translation>Die Zwei-Faktor-Anmeldung ist aus: Bei der Anmeldung wird nur Ihr Passwort abgefragt.</translation>
    </message>
    <message numerus="yes">
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery code.</source>
        <comment>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery codes.</comment>
        <translation>
            <numerusform>Die Zwei-Faktor-Anmeldung ist an: Bei der Anmeldung wird jetzt ein Code aus Ihrer Authenticator-App abgefragt. Sie haben {n} Wiederherstellungscode.</numerusform>
            <numerusform>Die Zwei-Faktor-Anmeldung ist an: Bei der Anmeldung wird jetzt ein Code aus Ihrer Authenticator-App abgefragt. Sie haben {n} Wiederherstellungscodes.</numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. No recovery codes were made: {problem}</source>
        <translation>Die Zwei-Faktor-Anmeldung ist an: Bei der Anmeldung wird jetzt ein Code aus Ihrer Authenticator-App abgefragt. Es wurden keine Wiederherstellungscodes erstellt: {problem}</translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app.</source>
        <translation>Die Zwei-Faktor-Anmeldung ist an: Bei der Anmeldung wird jetzt ein Code aus Ihrer Authenticator-App abgefragt.</translation>
    </message>
    <message>
        <source>Your email address is now {email}.</source>
        <translation>Ihre E-Mail-Adresse lautet jetzt {email}.</translation>
    </message>
    <message>
        <source>Your account {email} was deleted.</source>
        <translation>Ihr Konto {email} wurde gelöscht.</translation>
    </message>
</context>
<context>
    <name>Accounts</name>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right). A recovery code works once too.</source>
        <translation>Dieser Code ist nicht richtig. Geben Sie den neuesten Code ein, den Ihre Authenticator-App anzeigt (ein Code funktioniert nur einmal, und die Uhr des Telefons muss richtig gehen). Auch ein Wiederherstellungscode funktioniert nur einmal.</translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>Es gibt keine Rolle namens '{role}'.</translation>
    </message>
    <message>
        <source>This sign-in needs the other second step; sign in again.</source>
        <translation>Diese Anmeldung erfordert den anderen zweiten Schritt; melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation>Dieses Konto existiert nicht mehr.</translation>
    </message>
    <message>
        <source>Your account no longer exists.</source>
        <translation>Ihr Konto existiert nicht mehr.</translation>
    </message>
    <message>
        <source>Your account has been deactivated.</source>
        <translation>Ihr Konto wurde deaktiviert.</translation>
    </message>
    <message>
        <source>Your password was changed elsewhere. Sign in again.</source>
        <translation>Ihr Passwort wurde an anderer Stelle geändert. Melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <source>The new password must differ from the current one.</source>
        <translation>Das neue Passwort muss sich vom aktuellen unterscheiden.</translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation>Das Passwort wurde inzwischen an anderer Stelle geändert; melden Sie sich erneut an.</translation>
    </message>
</context>
<context>
    <name>ActionBar</name>
    <message>
        <source>Role for the selected users</source>
        <translation>Rolle für die ausgewählten Benutzer</translation>
    </message>
    <message>
        <source>Set r&amp;ole</source>
        <translation>R&amp;olle festlegen</translation>
    </message>
    <message>
        <source>Set role of the selected users</source>
        <translation>Rolle der ausgewählten Benutzer festlegen</translation>
    </message>
    <message>
        <source>&amp;Activate</source>
        <translation>&amp;Aktivieren</translation>
    </message>
    <message>
        <source>Activate the selected users</source>
        <translation>Ausgewählte Benutzer aktivieren</translation>
    </message>
    <message>
        <source>&amp;Deactivate</source>
        <translation>&amp;Deaktivieren</translation>
    </message>
    <message>
        <source>Deactivate the selected users</source>
        <translation>Ausgewählte Benutzer deaktivieren</translation>
    </message>
    <message>
        <source>U&amp;nlock</source>
        <translation>E&amp;ntsperren</translation>
    </message>
    <message>
        <source>Unlock the selected users</source>
        <translation>Ausgewählte Benutzer entsperren</translation>
    </message>
    <message>
        <source>Reset &amp;password…</source>
        <translation>&amp;Passwort zurücksetzen…</translation>
    </message>
    <message>
        <source>Reset the password of the selected users</source>
        <translation>Passwort der ausgewählten Benutzer zurücksetzen</translation>
    </message>
    <message>
        <source>Reset &amp;2FA…</source>
        <translation>&amp;2FA zurücksetzen…</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of the selected user</source>
        <translation>Zwei-Faktor-Anmeldung des ausgewählten Benutzers zurücksetzen</translation>
    </message>
    <message>
        <source>Remove the selected user's two-factor sign-in (one user at a time, with two-factor on)</source>
        <translation>Zwei-Faktor-Anmeldung des ausgewählten Benutzers entfernen (jeweils ein Benutzer mit aktivierter Zwei-Faktor-Anmeldung)</translation>
    </message>
    <message>
        <source>Dele&amp;te…</source>
        <translation>&amp;Löschen…</translation>
    </message>
    <message>
        <source>Delete the selected users</source>
        <translation>Ausgewählte Benutzer löschen</translation>
    </message>
    <message>
        <source>&amp;Create user…</source>
        <translation>Benutzer &amp;erstellen…</translation>
    </message>
    <message>
        <source>Create a user</source>
        <translation>Benutzer erstellen</translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation>CSV e&amp;xportieren…</translation>
    </message>
    <message>
        <source>Export the users to CSV</source>
        <translation>Benutzer als CSV exportieren</translation>
    </message>
    <message>
        <source>Selected users:</source>
        <translation>Ausgewählte Benutzer:</translation>
    </message>
</context>
<context>
    <name>Admin</name>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>Kein Konto hat die E-Mail-Adresse {email}.</translation>
    </message>
    <message>
        <source>Each account may appear only once in one save.</source>
        <translation>Jedes Konto darf pro Speichervorgang nur einmal vorkommen.</translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>Es gibt keine Rolle namens '{role}'.</translation>
    </message>
    <message numerus="yes">
        <source>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</source>
        <comment>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</comment>
        <translation>
            <numerusform>Setzen Sie höchstens {limit} Passwörter auf einmal zurück ({n} ausgewählt): Jede Person muss ihr eigenes erhalten. Schränken Sie die Auswahl ein.</numerusform>
            <numerusform>Setzen Sie höchstens {limit} Passwörter auf einmal zurück ({n} ausgewählt): Jede Person muss ihr eigenes erhalten. Schränken Sie die Auswahl ein.</numerusform>
        </translation>
    </message>
    <message>
        <source>Your own password cannot be reset here; use Change password instead.</source>
        <translation>Ihr eigenes Passwort kann hier nicht zurückgesetzt werden; verwenden Sie stattdessen „Passwort ändern“.</translation>
    </message>
    <message>
        <source>The built-in role 'admin' is missing; run: desktop-auth db upgrade</source>
        <translation>Die integrierte Rolle 'admin' fehlt; führen Sie aus: desktop-auth db upgrade</translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up in your account window first.</source>
        <translation>Administratoren müssen jetzt die Zwei-Faktor-Anmeldung verwenden: Richten Sie sie zuerst in Ihrem Kontofenster ein.</translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Your account is ready. Sign in below.</source>
        <translation>Ihr Konto ist bereit. Melden Sie sich unten an.</translation>
    </message>
</context>
<context>
    <name>Audit</name>
    <message>
        <source>Account created with the role {role}</source>
        <translation>Konto mit der Rolle {role} erstellt</translation>
    </message>
    <message>
        <source>Account created</source>
        <translation>Konto erstellt</translation>
    </message>
    <message>
        <source>Role changed from {old} to {new}</source>
        <translation>Rolle von {old} in {new} geändert</translation>
    </message>
    <message>
        <source>Account activated</source>
        <translation>Konto aktiviert</translation>
    </message>
    <message>
        <source>Account deactivated</source>
        <translation>Konto deaktiviert</translation>
    </message>
    <message>
        <source>Password changed</source>
        <translation>Passwort geändert</translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the password</source>
        <translation>Falsches aktuelles Passwort beim Ändern des Passworts eingegeben</translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the email address</source>
        <translation>Falsches aktuelles Passwort beim Ändern der E-Mail-Adresse eingegeben</translation>
    </message>
    <message>
        <source>Wrong current password typed while deleting the account</source>
        <translation>Falsches aktuelles Passwort beim Löschen des Kontos eingegeben</translation>
    </message>
    <message>
        <source>Password reset to a temporary password</source>
        <translation>Passwort auf ein temporäres Passwort zurückgesetzt</translation>
    </message>
    <message>
        <source>Password reset to a temporary password that expires {moment}</source>
        <translation>Passwort auf ein temporäres Passwort zurückgesetzt, gültig bis {moment}</translation>
    </message>
    <message>
        <source>Sign-in locked</source>
        <translation>Anmeldung gesperrt</translation>
    </message>
    <message>
        <source>Sign-in locked until {moment}</source>
        <translation>Anmeldung gesperrt bis {moment}</translation>
    </message>
    <message>
        <source>Unlocked</source>
        <translation>Entsperrt</translation>
    </message>
    <message>
        <source>Failed sign-in attempts forgotten</source>
        <translation>Fehlgeschlagene Anmeldeversuche zurückgesetzt</translation>
    </message>
    <message>
        <source>“{setting}” changed from {old} to {new}</source>
        <translation>„{setting}“ von {old} in {new} geändert</translation>
    </message>
    <message>
        <source>Role added</source>
        <translation>Rolle hinzugefügt</translation>
    </message>
    <message>
        <source>Role removed</source>
        <translation>Rolle entfernt</translation>
    </message>
    <message>
        <source>Role renamed from {old} to {new}</source>
        <translation>Rolle von {old} in {new} umbenannt</translation>
    </message>
    <message>
        <source>Role description cleared</source>
        <translation>Rollenbeschreibung gelöscht</translation>
    </message>
    <message>
        <source>Role description set to “{description}”</source>
        <translation>Rollenbeschreibung geändert in „{description}“</translation>
    </message>
    <message>
        <source>Change of many users started</source>
        <translation>Änderung vieler Benutzer gestartet</translation>
    </message>
    <message>
        <source>Change of many users started: {change}</source>
        <translation>Änderung vieler Benutzer gestartet: {change}</translation>
    </message>
    <message>
        <source>Change of many users stopped</source>
        <translation>Änderung vieler Benutzer abgebrochen</translation>
    </message>
    <message>
        <source>Imported accounts from a CSV file</source>
        <translation>Konten aus einer CSV-Datei importiert</translation>
    </message>
    <message>
        <source>Imported {count} accounts from a CSV file</source>
        <translation>{count} Konten aus einer CSV-Datei importiert</translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account from a CSV file</source>
        <comment>Imported {n} accounts from a CSV file</comment>
        <translation>
            <numerusform>{n} Konto aus einer CSV-Datei importiert</numerusform>
            <numerusform>{n} Konten aus einer CSV-Datei importiert</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset own password with a recovery code</source>
        <translation>Eigenes Passwort mit einem Wiederherstellungscode zurückgesetzt</translation>
    </message>
    <message numerus="yes">
        <source>Reset own password with a recovery code ({n} left)</source>
        <comment>Reset own password with a recovery code ({n} left)</comment>
        <translation>
            <numerusform>Eigenes Passwort mit einem Wiederherstellungscode zurückgesetzt (noch {n} übrig)</numerusform>
            <numerusform>Eigenes Passwort mit einem Wiederherstellungscode zurückgesetzt (noch {n} übrig)</numerusform>
        </translation>
    </message>
    <message>
        <source>Signed in with a recovery code instead of the authenticator</source>
        <translation>Mit einem Wiederherstellungscode statt der Authenticator-App angemeldet</translation>
    </message>
    <message numerus="yes">
        <source>Signed in with a recovery code instead of the authenticator ({n} left)</source>
        <comment>Signed in with a recovery code instead of the authenticator ({n} left)</comment>
        <translation>
            <numerusform>Mit einem Wiederherstellungscode statt der Authenticator-App angemeldet (noch {n} übrig)</numerusform>
            <numerusform>Mit einem Wiederherstellungscode statt der Authenticator-App angemeldet (noch {n} übrig)</numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in turned on</source>
        <translation>Zwei-Faktor-Anmeldung eingeschaltet</translation>
    </message>
    <message>
        <source>Wrong current password typed while turning on two-factor sign-in</source>
        <translation>Falsches aktuelles Passwort beim Einschalten der Zwei-Faktor-Anmeldung eingegeben</translation>
    </message>
    <message>
        <source>Two-factor sign-in turned off</source>
        <translation>Zwei-Faktor-Anmeldung ausgeschaltet</translation>
    </message>
    <message>
        <source>Wrong password or code typed while turning off two-factor sign-in</source>
        <translation>Falsches Passwort oder falscher Code beim Ausschalten der Zwei-Faktor-Anmeldung eingegeben</translation>
    </message>
    <message>
        <source>Wrong or reused authenticator code at sign-in</source>
        <translation>Falscher oder bereits verwendeter Code der Authenticator-App bei der Anmeldung</translation>
    </message>
    <message>
        <source>Two-factor sign-in removed by an administrator</source>
        <translation>Zwei-Faktor-Anmeldung von einem Administrator entfernt</translation>
    </message>
    <message>
        <source>Address of {address} erased from the history entries</source>
        <translation>Adresse {address} aus den Verlaufseinträgen gelöscht</translation>
    </message>
    <message numerus="yes">
        <source>Address of {address} erased from {n} history entry</source>
        <comment>Address of {address} erased from {n} history entries</comment>
        <translation>
            <numerusform>Adresse {address} aus {n} Verlaufseintrag gelöscht</numerusform>
            <numerusform>Adresse {address} aus {n} Verlaufseinträgen gelöscht</numerusform>
        </translation>
    </message>
    <message>
        <source>{action}: {old} → {new}</source>
        <translation>{action}: {old} → {new}</translation>
    </message>
    <message>
        <source>on</source>
        <translation>ein</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(keine)</translation>
    </message>
    <message>
        <source>Changed email from {old} to {new}</source>
        <translation>E-Mail-Adresse von {old} in {new} geändert</translation>
    </message>
    <message>
        <source>Email address changed</source>
        <translation>E-Mail-Adresse geändert</translation>
    </message>
    <message>
        <source>Deleted own account</source>
        <translation>Eigenes Konto gelöscht</translation>
    </message>
    <message>
        <source>Deleted own account, was {address}</source>
        <translation>Eigenes Konto gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted own account #{number}</source>
        <translation>Eigenes Konto #{number} gelöscht</translation>
    </message>
    <message>
        <source>Deleted own account #{number}, was {address}</source>
        <translation>Eigenes Konto #{number} gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted account with the role {role}, was {address}</source>
        <translation>Konto mit der Rolle {role} gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted account with the role {role}</source>
        <translation>Konto mit der Rolle {role} gelöscht</translation>
    </message>
    <message>
        <source>Deleted account, was {address}</source>
        <translation>Konto gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted account</source>
        <translation>Konto gelöscht</translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}, was {address}</source>
        <translation>Konto #{number} mit der Rolle {role} gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}</source>
        <translation>Konto #{number} mit der Rolle {role} gelöscht</translation>
    </message>
    <message>
        <source>Deleted account #{number}, was {address}</source>
        <translation>Konto #{number} gelöscht, Adresse war {address}</translation>
    </message>
    <message>
        <source>Deleted account #{number}</source>
        <translation>Konto #{number} gelöscht</translation>
    </message>
    <message>
        <source>Change of many users finished</source>
        <translation>Änderung vieler Benutzer abgeschlossen</translation>
    </message>
    <message>
        <source>Change of many users finished: {result}</source>
        <translation>Änderung vieler Benutzer abgeschlossen: {result}</translation>
    </message>
    <message>
        <source>Change of many users finished: changed {changed}, left alone {left}</source>
        <translation>Änderung vieler Benutzer abgeschlossen: {changed} geändert, {left} unverändert</translation>
    </message>
    <message>
        <source>New recovery codes made; the earlier ones no longer work</source>
        <translation>Neue Wiederherstellungscodes erstellt; die bisherigen gelten nicht mehr</translation>
    </message>
    <message>
        <source>New recovery codes made</source>
        <translation>Neue Wiederherstellungscodes erstellt</translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made; the earlier ones no longer work</source>
        <comment>{n} new recovery codes made; the earlier ones no longer work</comment>
        <translation>
            <numerusform>{n} neuer Wiederherstellungscode erstellt; die bisherigen gelten nicht mehr</numerusform>
            <numerusform>{n} neue Wiederherstellungscodes erstellt; die bisherigen gelten nicht mehr</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made</source>
        <comment>{n} new recovery codes made</comment>
        <translation>
            <numerusform>{n} neuer Wiederherstellungscode erstellt</numerusform>
            <numerusform>{n} neue Wiederherstellungscodes erstellt</numerusform>
        </translation>
    </message>
    <message>
        <source>system</source>
        <translation>System</translation>
    </message>
    <message>
        <source>erased address</source>
        <translation>gelöschte Adresse</translation>
    </message>
    <message>
        <source>deleted account #{number}</source>
        <translation>gelöschtes Konto #{number}</translation>
    </message>
    <message>
        <source>deleted own account #{number}</source>
        <translation>selbst gelöschtes Konto #{number}</translation>
    </message>
    <message numerus="yes">
        <source>{n} users (change #{change})</source>
        <comment>{n} users (change #{change})</comment>
        <translation>
            <numerusform>{n} Benutzer (Änderung #{change})</numerusform>
            <numerusform>{n} Benutzer (Änderung #{change})</numerusform>
        </translation>
    </message>
    <message>
        <source>first administrator</source>
        <translation>erster Administrator</translation>
    </message>
    <message>
        <source>self-registration</source>
        <translation>Selbstregistrierung</translation>
    </message>
    <message>
        <source>wrong current password</source>
        <translation>falsches aktuelles Passwort</translation>
    </message>
    <message>
        <source>wrong password or code</source>
        <translation>falsches Passwort oder falscher Code</translation>
    </message>
    <message>
        <source>wrong or reused code</source>
        <translation>falscher oder bereits verwendeter Code</translation>
    </message>
    <message>
        <source>wrong recovery code</source>
        <translation>falscher Wiederherstellungscode</translation>
    </message>
    <message>
        <source>replaced the earlier codes</source>
        <translation>bisherige Codes ersetzt</translation>
    </message>
    <message>
        <source>created by {who} with a temporary password</source>
        <translation>von {who} mit einem temporären Passwort erstellt</translation>
    </message>
    <message>
        <source>created by {who}</source>
        <translation>von {who} erstellt</translation>
    </message>
    <message>
        <source>imported from a CSV file by {who}</source>
        <translation>von {who} aus einer CSV-Datei importiert</translation>
    </message>
    <message numerus="yes">
        <source>imported {n} accounts from a CSV file</source>
        <comment>imported {n} accounts from a CSV file</comment>
        <translation>
            <numerusform>{n} Konto aus einer CSV-Datei importiert</numerusform>
            <numerusform>{n} Konten aus einer CSV-Datei importiert</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} failed attempts; lockout #{lockout}</source>
        <comment>{n} failed attempts; lockout #{lockout}</comment>
        <translation>
            <numerusform>{n} fehlgeschlagener Versuch; Sperre #{lockout}</numerusform>
            <numerusform>{n} fehlgeschlagene Versuche; Sperre #{lockout}</numerusform>
        </translation>
    </message>
    <message>
        <source>changed email from {old} to {new}</source>
        <translation>E-Mail-Adresse von {old} in {new} geändert</translation>
    </message>
    <message numerus="yes">
        <source>reset own password with a recovery code ({n} left)</source>
        <comment>reset own password with a recovery code ({n} left)</comment>
        <translation>
            <numerusform>eigenes Passwort mit einem Wiederherstellungscode zurückgesetzt (noch {n} übrig)</numerusform>
            <numerusform>eigenes Passwort mit einem Wiederherstellungscode zurückgesetzt (noch {n} übrig)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>signed in with a recovery code instead of the authenticator ({n} left)</source>
        <comment>signed in with a recovery code instead of the authenticator ({n} left)</comment>
        <translation>
            <numerusform>mit einem Wiederherstellungscode statt der Authenticator-App angemeldet (noch {n} übrig)</numerusform>
            <numerusform>mit einem Wiederherstellungscode statt der Authenticator-App angemeldet (noch {n} übrig)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>address of {label} erased from {n} audit entries</source>
        <comment>address of {label} erased from {n} audit entries</comment>
        <translation>
            <numerusform>Adresse von {label} aus {n} Verlaufseintrag gelöscht</numerusform>
            <numerusform>Adresse von {label} aus {n} Verlaufseinträgen gelöscht</numerusform>
        </translation>
    </message>
    <message>
        <source>{label}, was {address}</source>
        <translation>{label}, Adresse war {address}</translation>
    </message>
    <message>
        <source>{label}, address erased</source>
        <translation>{label}, Adresse gelöscht</translation>
    </message>
    <message numerus="yes">
        <source>{n} unfinished change of many users follow</source>
        <comment>{n} unfinished changes of many users follow</comment>
        <translation>
            <numerusform>es folgt {n} nicht abgeschlossene Änderung vieler Benutzer</numerusform>
            <numerusform>es folgen {n} nicht abgeschlossene Änderungen vieler Benutzer</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkChange</name>
    <message>
        <source>Choose a role or whether the accounts are active.</source>
        <translation>Wählen Sie eine Rolle oder ob die Konten aktiv sind.</translation>
    </message>
    <message>
        <source>There is no bulk change #{id}.</source>
        <translation>Es gibt keine Sammeländerung #{id}.</translation>
    </message>
    <message>
        <source>activate</source>
        <translation>aktivieren</translation>
    </message>
    <message>
        <source>deactivate</source>
        <translation>deaktivieren</translation>
    </message>
    <message>
        <source>role → {role}</source>
        <translation>Rolle → {role}</translation>
    </message>
    <message>
        <source>role → {role}, activate</source>
        <translation>Rolle → {role}, aktivieren</translation>
    </message>
    <message>
        <source>role → {role}, deactivate</source>
        <translation>Rolle → {role}, deaktivieren</translation>
    </message>
    <message numerus="yes">
        <source>No change for {n} selected user</source>
        <comment>No change for {n} selected users</comment>
        <translation>
            <numerusform>Keine Änderung für {n} ausgewählten Benutzer</numerusform>
            <numerusform>Keine Änderung für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>activate for {n} selected user</source>
        <comment>activate for {n} selected users</comment>
        <translation>
            <numerusform>aktivieren für {n} ausgewählten Benutzer</numerusform>
            <numerusform>aktivieren für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>deactivate for {n} selected user</source>
        <comment>deactivate for {n} selected users</comment>
        <translation>
            <numerusform>deaktivieren für {n} ausgewählten Benutzer</numerusform>
            <numerusform>deaktivieren für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role} for {n} selected user</source>
        <comment>role → {role} for {n} selected users</comment>
        <translation>
            <numerusform>Rolle → {role} für {n} ausgewählten Benutzer</numerusform>
            <numerusform>Rolle → {role} für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, activate for {n} selected user</source>
        <comment>role → {role}, activate for {n} selected users</comment>
        <translation>
            <numerusform>Rolle → {role}, aktivieren für {n} ausgewählten Benutzer</numerusform>
            <numerusform>Rolle → {role}, aktivieren für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, deactivate for {n} selected user</source>
        <comment>role → {role}, deactivate for {n} selected users</comment>
        <translation>
            <numerusform>Rolle → {role}, deaktivieren für {n} ausgewählten Benutzer</numerusform>
            <numerusform>Rolle → {role}, deaktivieren für {n} ausgewählte Benutzer</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkFlow</name>
    <message numerus="yes">
        <source>Stopped: changed {n} user of {total}; the others are as they were.</source>
        <comment>Stopped: changed {n} users of {total}; the others are as they were.</comment>
        <translation>
            <numerusform>Angehalten: {n} von {total} Benutzern geändert; die anderen sind unverändert.</numerusform>
            <numerusform>Angehalten: {n} von {total} Benutzern geändert; die anderen sind unverändert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Changed {n} user ({change}).</source>
        <comment>Changed {n} users ({change}).</comment>
        <translation>
            <numerusform>{n} Benutzer geändert ({change}).</numerusform>
            <numerusform>{n} Benutzer geändert ({change}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{emails} and {n} more</source>
        <comment>{emails} and {n} more</comment>
        <translation>
            <numerusform>{emails} und {n} weiterer</numerusform>
            <numerusform>{emails} und {n} weitere</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} user was left alone because someone else changed them after you selected them: {emails}. Review them and try again.</source>
        <comment>{n} users were left alone because someone else changed them after you selected them: {emails}. Review them and try again.</comment>
        <translation>
            <numerusform>{n} Benutzer wurde nicht geändert, weil jemand anderes ihn nach Ihrer Auswahl geändert hat: {emails}. Prüfen Sie ihn und versuchen Sie es erneut.</numerusform>
            <numerusform>{n} Benutzer wurden nicht geändert, weil jemand anderes sie nach Ihrer Auswahl geändert hat: {emails}. Prüfen Sie sie und versuchen Sie es erneut.</numerusform>
        </translation>
    </message>
    <message>
        <source>Save or revert the unsaved change ({change}) before changing other users.</source>
        <translation>Speichern oder verwerfen Sie die nicht gespeicherte Änderung ({change}), bevor Sie andere Benutzer ändern.</translation>
    </message>
    <message>
        <source>None of the selected users is there any more.</source>
        <translation>Keiner der ausgewählten Benutzer ist mehr vorhanden.</translation>
    </message>
    <message numerus="yes">
        <source>Applying {change} to {n} user…</source>
        <comment>Applying {change} to {n} users…</comment>
        <translation>
            <numerusform>{change} wird auf {n} Benutzer angewendet…</numerusform>
            <numerusform>{change} wird auf {n} Benutzer angewendet…</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Abbrechen</translation>
    </message>
    <message>
        <source>Saving changes</source>
        <translation>Änderungen werden gespeichert</translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation>Ihre eigene Administratorrolle entfernen?</translation>
    </message>
    <message>
        <source>This change takes away your own administrator role. You will lose access to this window.</source>
        <translation>Diese Änderung entzieht Ihnen Ihre eigene Administratorrolle. Sie verlieren den Zugriff auf dieses Fenster.</translation>
    </message>
    <message>
        <source>Stopping after the users being changed now…</source>
        <translation>Wird nach den gerade bearbeiteten Benutzern angehalten…</translation>
    </message>
</context>
<context>
    <name>ChangeEmailDialog</name>
    <message>
        <source>Change email address</source>
        <translation>E-Mail-Adresse ändern</translation>
    </message>
    <message>
        <source>You sign in as {email}. Enter the new address and your current password.</source>
        <translation>Sie melden sich als {email} an. Geben Sie die neue Adresse und Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>New email address</source>
        <translation>Neue E-Mail-Adresse</translation>
    </message>
    <message>
        <source>New &amp;email:</source>
        <translation>Neue &amp;E-Mail-Adresse:</translation>
    </message>
    <message>
        <source>&amp;Change email</source>
        <translation>E-Mail-Adresse ä&amp;ndern</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter the new email address.</source>
        <translation>Geben Sie die neue E-Mail-Adresse ein.</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Changing your email address…</source>
        <translation>Ihre E-Mail-Adresse wird geändert…</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>An administrator set a temporary password. Choose your own before you continue.</source>
        <translation>Ein Administrator hat ein temporäres Passwort festgelegt. Wählen Sie ein eigenes, bevor Sie fortfahren.</translation>
    </message>
    <message>
        <source>Enter your current password, then the new one twice.</source>
        <translation>Geben Sie Ihr aktuelles Passwort und dann zweimal das neue ein.</translation>
    </message>
    <message>
        <source>Change password</source>
        <translation>Passwort ändern</translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation>&amp;Neues Passwort:</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>Neues Passwort</translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation>Neues Passwort bestätigen</translation>
    </message>
    <message>
        <source>&amp;Change password</source>
        <translation>Passwort &amp;ändern</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation>Geben Sie ein neues Passwort ein.</translation>
    </message>
    <message>
        <source>Changing your password…</source>
        <translation>Passwort wird geändert…</translation>
    </message>
</context>
<context>
    <name>Config</name>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY is not a key: it must be 32 random bytes in url-safe base64 (44 characters), as `desktop-auth 2fa new-key` prints</source>
        <translation>DESKTOP_AUTH_TOTP_KEY ist kein Schlüssel: Er muss aus 32 zufälligen Bytes in URL-sicherem Base64 bestehen (44 Zeichen), wie von `desktop-auth 2fa new-key` ausgegeben</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is not a werkzeug method (expected e.g. 'scrypt:131072:8:1' or 'pbkdf2:sha256:600000')</source>
        <translation>DESKTOP_AUTH_HASH_METHOD '{method}' ist keine werkzeug-Methode (erwartet z. B. 'scrypt:131072:8:1' oder 'pbkdf2:sha256:600000')</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is weaker than the minimum this app accepts (scrypt:131072:8:1, or pbkdf2:sha256:600000 which is as strong); choose a stronger method</source>
        <translation>DESKTOP_AUTH_HASH_METHOD '{method}' ist schwächer als das Minimum, das diese App akzeptiert (scrypt:131072:8:1 oder das gleich starke pbkdf2:sha256:600000); wählen Sie eine stärkere Methode</translation>
    </message>
    <message>
        <source>{name} must be at least {minimum}, got {value}</source>
        <translation>{name} muss mindestens {minimum} sein, ist aber {value}</translation>
    </message>
    <message>
        <source>{name} must be at most {maximum}, got {value}</source>
        <translation>{name} darf höchstens {maximum} sein, ist aber {value}</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}': scrypt's N must be a power of two</source>
        <translation>DESKTOP_AUTH_HASH_METHOD '{method}': N von scrypt muss eine Zweierpotenz sein</translation>
    </message>
    <message>
        <source>{source} names '{path}', which does not exist</source>
        <translation>{source} verweist auf '{path}', das nicht existiert</translation>
    </message>
    <message>
        <source>{source} names '{path}', which is not UTF-8 text</source>
        <translation>{source} verweist auf '{path}', das kein UTF-8-Text ist</translation>
    </message>
    <message>
        <source>{source} names '{path}', which cannot be read ({reason})</source>
        <translation>{source} verweist auf '{path}', das nicht gelesen werden kann ({reason})</translation>
    </message>
    <message>
        <source>{source} names '{path}', whose first line is empty; it should hold the database URL</source>
        <translation>{source} verweist auf '{path}', dessen erste Zeile leer ist; sie sollte die Datenbank-URL enthalten</translation>
    </message>
    <message>
        <source>{name} must be 1 or 0, got '{value}'</source>
        <translation>{name} muss 1 oder 0 sein, ist aber '{value}'</translation>
    </message>
    <message>
        <source>{name} must be a whole number, got '{value}'</source>
        <translation>{name} muss eine ganze Zahl sein, ist aber '{value}'</translation>
    </message>
</context>
<context>
    <name>CreateUserDialog</name>
    <message>
        <source>Create user</source>
        <translation>Benutzer erstellen</translation>
    </message>
    <message>
        <source>The account gets a random temporary password, shown to you once here. The person must change it at their first sign-in.</source>
        <translation>Das Konto erhält ein zufälliges temporäres Passwort, das Ihnen hier einmalig angezeigt wird. Die Person muss es bei ihrer ersten Anmeldung ändern.</translation>
    </message>
    <message>
        <source>&amp;Email address:</source>
        <translation>&amp;E-Mail-Adresse:</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>&amp;Role:</source>
        <translation>&amp;Rolle:</translation>
    </message>
    <message>
        <source>&amp;Create user</source>
        <translation>Benutzer ers&amp;tellen</translation>
    </message>
    <message>
        <source>Create the user</source>
        <translation>Benutzer erstellen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter an email address.</source>
        <translation>Geben Sie eine E-Mail-Adresse ein.</translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation>Konto wird erstellt…</translation>
    </message>
    <message>
        <source>User created</source>
        <translation>Benutzer erstellt</translation>
    </message>
    <message>
        <source>{email} can sign in with this temporary password until {expires} and must then choose their own. It is shown only now: copy it before you close this window.</source>
        <translation>{email} kann sich bis {expires} mit diesem temporären Passwort anmelden und muss dann ein eigenes wählen. Es wird nur jetzt angezeigt: Kopieren Sie es, bevor Sie dieses Fenster schließen.</translation>
    </message>
    <message>
        <source>Temporary password for {email}</source>
        <translation>Temporäres Passwort für {email}</translation>
    </message>
    <message>
        <source>Temporary &amp;password:</source>
        <translation>Temporäres &amp;Passwort:</translation>
    </message>
    <message>
        <source>C&amp;opy password</source>
        <translation>Passwort &amp;kopieren</translation>
    </message>
    <message>
        <source>Copy the temporary password</source>
        <translation>Temporäres Passwort kopieren</translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>&amp;Schließen</translation>
    </message>
    <message>
        <source>Close and forget the password</source>
        <translation>Schließen und Passwort verwerfen</translation>
    </message>
    <message>
        <source>User created: {email}. The temporary password is shown once.</source>
        <translation>Benutzer erstellt: {email}. Das temporäre Passwort wird einmalig angezeigt.</translation>
    </message>
    <message>
        <source>Copied the temporary password.</source>
        <translation>Temporäres Passwort kopiert.</translation>
    </message>
</context>
<context>
    <name>DatabaseErrors</name>
    <message>
        <source>DATABASE_URL '{url}' cannot be used: {detail}</source>
        <translation>DATABASE_URL '{url}' kann nicht verwendet werden: {detail}</translation>
    </message>
    <message>
        <source>The database is busy with another client; please try again.</source>
        <translation>Die Datenbank ist durch einen anderen Client belegt; bitte versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server signs in with caching_sha2_password or sha256_password, which needs the 'cryptography' package; reinstall desktop-auth (it depends on PyMySQL[rsa])</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): Der Server verlangt die Anmeldung mit caching_sha2_password oder sha256_password, wofür das Paket 'cryptography' benötigt wird; installieren Sie desktop-auth neu (es hängt von PyMySQL[rsa] ab)</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): connect to a host name or address that the server's certificate lists</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): Das TLS-Zertifikat des Servers wurde abgelehnt (Zertifikatsprüfung fehlgeschlagen: {reason}): Verbinden Sie sich mit einem Hostnamen oder einer Adresse, die im Zertifikat des Servers aufgeführt ist</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): check that ssl_ca names the CA that signed the server's certificate</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): Das TLS-Zertifikat des Servers wurde abgelehnt (Zertifikatsprüfung fehlgeschlagen: {reason}): Prüfen Sie, ob ssl_ca die Zertifizierungsstelle (CA) angibt, die das Zertifikat des Servers signiert hat</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server requires TLS (require_secure_transport): add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): Der Server verlangt TLS (require_secure_transport): Fügen Sie ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true zu DATABASE_URL hinzu</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): TLS could not be set up with the server ({detail})</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): TLS konnte mit dem Server nicht eingerichtet werden ({detail})</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}; this connection was not encrypted (ssl_disabled=true), which a server that requires TLS (require_secure_transport) refuses: remove ssl_disabled and add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): {detail}; diese Verbindung war nicht verschlüsselt (ssl_disabled=true), was ein Server, der TLS verlangt (require_secure_transport), ablehnt: Entfernen Sie ssl_disabled und fügen Sie ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true zu DATABASE_URL hinzu</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}</source>
        <translation>Die Datenbank ist nicht verfügbar ({location}): {detail}</translation>
    </message>
    <message>
        <source>The connection to the database was lost while saving, and the database could not be reached to find out whether the change was saved. Look before trying again.</source>
        <translation>Die Verbindung zur Datenbank ist beim Speichern abgebrochen, und die Datenbank war nicht erreichbar, um festzustellen, ob die Änderung gespeichert wurde. Prüfen Sie dies, bevor Sie es erneut versuchen.</translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppe. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppen. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>Die Datenbank kann nicht aktualisiert werden: Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {n} weitere Gruppe. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {n} weitere Gruppen. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppe. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppen. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {n} weitere Gruppe. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {n} weitere Gruppen. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppe. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und 1 weitere Gruppe. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppen. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und 1 weitere Gruppe. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppe. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {alike_more} weitere Gruppen. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
            <numerusform>Die Datenbank kann nicht aktualisiert werden: Diese Adressen würden zu einem einzigen Konto gehören, sobald sie so geschrieben werden, wie die App sie schreibt (Groß-/Kleinschreibung, Akzente, Unicode- oder Punycode-Domains): {same}; und {n} weitere Gruppen. Diese Adressen sehen gleich aus (verwechselbare Unicode-Zeichen), was bei neuen Konten nicht zulässig ist: {alike}; und {alike_more} weitere Gruppen. Führen Sie diese Konten zusammen oder benennen Sie sie um, und führen Sie dann die Aktualisierung erneut aus. Es wurde nichts geändert.</numerusform>
        </translation>
    </message>
    <message>
        <source>Every database connection of this client stayed busy too long; please try again.</source>
        <translation>Alle Datenbankverbindungen dieses Clients waren zu lange belegt; bitte versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>The migration left rows whose foreign keys point nowhere: {rows}</source>
        <translation>Die Migration hat Zeilen hinterlassen, deren Fremdschlüssel ins Leere verweisen: {rows}</translation>
    </message>
    <message>
        <source>The database holds revision '{revision}', which this version of desktop-auth does not know, and its tables are not the tutorial's; refusing to touch it.</source>
        <translation>Die Datenbank hat die Revision '{revision}', die diese Version von desktop-auth nicht kennt, und ihre Tabellen sind nicht die des Tutorials; die Datenbank wird nicht verändert.</translation>
    </message>
    <message>
        <source>The database schema (revision {revision}) is newer than this version of desktop-auth knows (head {head}); update the application.</source>
        <translation>Das Datenbankschema (Revision {revision}) ist neuer, als diese Version von desktop-auth kennt (neueste bekannte Revision {head}); aktualisieren Sie die Anwendung.</translation>
    </message>
    <message>
        <source>The database has no tables yet; run: {command}</source>
        <translation>Die Datenbank hat noch keine Tabellen; führen Sie aus: {command}</translation>
    </message>
    <message>
        <source>The database schema is out of date (revision {revision}, need {head}); run: {command}</source>
        <translation>Das Datenbankschema ist veraltet (Revision {revision}, benötigt wird {head}); führen Sie aus: {command}</translation>
    </message>
    <message>
        <source>The database holds the tutorial's tables and must be adopted; run: {command}</source>
        <translation>Die Datenbank enthält die Tabellen des Tutorials und muss übernommen werden; führen Sie aus: {command}</translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it starts '{scheme}'; the rest is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation>DATABASE_URL ist fehlerhaft (sie beginnt mit '{scheme}'; der Rest wird nicht angezeigt, da er ein Passwort enthalten kann): erwartet wird z. B. 'mysql+pymysql://user:password@host/dbname' oder 'sqlite:///path/to/file.sqlite3', wobei Sonderzeichen im Passwort prozentkodiert sein müssen ('@' als %40)</translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it does not start with a scheme such as mysql+pymysql:// or sqlite:///; it is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation>DATABASE_URL ist fehlerhaft (sie beginnt nicht mit einem Schema wie mysql+pymysql:// oder sqlite:///; sie wird nicht angezeigt, da sie ein Passwort enthalten kann): erwartet wird z. B. 'mysql+pymysql://user:password@host/dbname' oder 'sqlite:///path/to/file.sqlite3', wobei Sonderzeichen im Passwort prozentkodiert sein müssen ('@' als %40)</translation>
    </message>
    <message>
        <source>DATABASE_URL has an unencoded '@' in its user name or password: write it as %40 ('{url}')</source>
        <translation>DATABASE_URL enthält ein nicht kodiertes '@' im Benutzernamen oder Passwort: Schreiben Sie es als %40 ('{url}')</translation>
    </message>
    <message>
        <source>DATABASE_URL asks for the driver '{driver}', but desktop-auth ships PyMySQL: use {backend}+pymysql:// in '{url}'</source>
        <translation>DATABASE_URL verlangt den Treiber '{driver}', aber desktop-auth liefert PyMySQL mit: Verwenden Sie {backend}+pymysql:// in '{url}'</translation>
    </message>
    <message>
        <source>DATABASE_URL names no database: '{url}'</source>
        <translation>DATABASE_URL nennt keine Datenbank: '{url}'</translation>
    </message>
    <message>
        <source>DATABASE_URL '{url}' gives SQLite a user, password or host; a SQLite URL names a file only: 'sqlite:///path/to/file.sqlite3'</source>
        <translation>DATABASE_URL '{url}' gibt für SQLite einen Benutzer, ein Passwort oder einen Host an; eine SQLite-URL nennt nur eine Datei: 'sqlite:///path/to/file.sqlite3'</translation>
    </message>
    <message>
        <source>DATABASE_URL uses an unsupported database '{backend}': '{url}' (use mysql+pymysql:// or sqlite://)</source>
        <translation>DATABASE_URL verwendet eine nicht unterstützte Datenbank '{backend}': '{url}' (verwenden Sie mysql+pymysql:// oder sqlite://)</translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL (for TLS use ssl_ca=/path/to/ca.pem)</source>
        <translation>Die DATABASE_URL-Option '{name}' kann nicht in der URL angegeben werden (für TLS verwenden Sie ssl_ca=/path/to/ca.pem)</translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL</source>
        <translation>Die DATABASE_URL-Option '{name}' kann nicht in der URL angegeben werden</translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'; TLS options are {options}</source>
        <translation>DATABASE_URL enthält eine Option, die der MySQL-Treiber nicht kennt: '{name}'; TLS-Optionen sind {options}</translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'</source>
        <translation>DATABASE_URL enthält eine Option, die der MySQL-Treiber nicht kennt: '{name}'</translation>
    </message>
    <message>
        <source>DATABASE_URL gives the option '{name}' more than once</source>
        <translation>DATABASE_URL gibt die Option '{name}' mehrfach an</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be a whole number of at least {least}, not {value}</source>
        <translation>Die DATABASE_URL-Option {name} muss eine ganze Zahl von mindestens {least} sein, nicht {value}</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be true or false, not {value}</source>
        <translation>Die DATABASE_URL-Option {name} muss true oder false sein, nicht {value}</translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_disabled=true together with {options}: choose one</source>
        <translation>DATABASE_URL setzt ssl_disabled=true zusammen mit {options}: Wählen Sie eines davon</translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_verify_identity=true but ssl_verify_cert=false: a host name is only checked in a verified certificate</source>
        <translation>DATABASE_URL setzt ssl_verify_identity=true, aber ssl_verify_cert=false: Ein Hostname wird nur in einem geprüften Zertifikat überprüft</translation>
    </message>
    <message>
        <source>DATABASE_URL gives ssl_key without ssl_cert (the client certificate)</source>
        <translation>DATABASE_URL gibt ssl_key ohne ssl_cert (das Client-Zertifikat) an</translation>
    </message>
    <message>
        <source>DATABASE_URL option ssl_capath: '{path}' is not a folder</source>
        <translation>DATABASE_URL-Option ssl_capath: '{path}' ist kein Ordner</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' selects no cipher this system offers</source>
        <translation>DATABASE_URL-Option {name}: '{path}' wählt keine Verschlüsselung aus, die dieses System anbietet</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' is not a usable PEM file ({reason})</source>
        <translation>DATABASE_URL-Option {name}: '{path}' ist keine verwendbare PEM-Datei ({reason})</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: cannot read '{path}' ({reason})</source>
        <translation>DATABASE_URL-Option {name}: '{path}' kann nicht gelesen werden ({reason})</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: {detail}</source>
        <translation>DATABASE_URL-Option {name}: {detail}</translation>
    </message>
</context>
<context>
    <name>DeleteAccountDialog</name>
    <message>
        <source>Delete your account</source>
        <translation>Ihr Konto löschen</translation>
    </message>
    <message>
        <source>This deletes the account {email} for good: you are signed out and cannot sign in with it again. Enter your current password to confirm.</source>
        <translation>Dadurch wird das Konto {email} endgültig gelöscht: Sie werden abgemeldet und können sich damit nicht mehr anmelden. Geben Sie zur Bestätigung Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>&amp;Delete my account</source>
        <translation>Mein Konto &amp;löschen</translation>
    </message>
    <message>
        <source>Delete my account</source>
        <translation>Mein Konto löschen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Deleting your account…</source>
        <translation>Ihr Konto wird gelöscht…</translation>
    </message>
</context>
<context>
    <name>DeleteUsersDialog</name>
    <message>
        <source>Delete account</source>
        <translation>Konto löschen</translation>
    </message>
    <message>
        <source>Delete the account {email}?</source>
        <translation>Das Konto {email} löschen?</translation>
    </message>
    <message>
        <source>Delete accounts</source>
        <translation>Konten löschen</translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account?</source>
        <comment>Delete {n} accounts?</comment>
        <translation>
            <numerusform>{n} Konto löschen?</numerusform>
            <numerusform>{n} Konten löschen?</numerusform>
        </translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to it, under the address, until an operator erases it.</source>
        <translation>Dies kann nicht rückgängig gemacht werden. Der Verlauf bewahrt unter der Adresse auf, was dieses Konto getan hat und was mit ihm getan wurde, bis ein Betreiber diese Einträge löscht.</translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to them, under the address, until an operator erases it.</source>
        <translation>Dies kann nicht rückgängig gemacht werden. Der Verlauf bewahrt unter der Adresse auf, was diese Konten getan haben und was mit ihnen getan wurde, bis ein Betreiber diese Einträge löscht.</translation>
    </message>
    <message numerus="yes">
        <source>They include {named} and {n} more.</source>
        <comment>They include {named} and {n} more.</comment>
        <translation>
            <numerusform>Darunter sind {named} und {n} weiteres.</numerusform>
            <numerusform>Darunter sind {named} und {n} weitere.</numerusform>
        </translation>
    </message>
    <message>
        <source>They include {named}.</source>
        <translation>Darunter ist {named}.</translation>
    </message>
    <message>
        <source>It is an administrator.</source>
        <translation>Es ist ein Administratorkonto.</translation>
    </message>
    <message numerus="yes">
        <source>{n} of them is an administrator.</source>
        <comment>{n} of them are administrators.</comment>
        <translation>
            <numerusform>{n} davon ist ein Administratorkonto.</numerusform>
            <numerusform>{n} davon sind Administratorkonten.</numerusform>
        </translation>
    </message>
    <message>
        <source>Type {answer} to confirm</source>
        <translation>Geben Sie zur Bestätigung {answer} ein</translation>
    </message>
    <message>
        <source>&amp;Type the address, {answer}, to confirm:</source>
        <translation>&amp;Geben Sie zur Bestätigung die Adresse {answer} ein:</translation>
    </message>
    <message>
        <source>&amp;Type the number of accounts, {answer}, to confirm:</source>
        <translation>&amp;Geben Sie zur Bestätigung die Anzahl der Konten ({answer}) ein:</translation>
    </message>
    <message>
        <source>&amp;Delete account</source>
        <translation>Konto &amp;löschen</translation>
    </message>
    <message>
        <source>&amp;Delete accounts</source>
        <translation>Konten &amp;löschen</translation>
    </message>
    <message>
        <source>Delete the account</source>
        <translation>Das Konto löschen</translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account</source>
        <comment>Delete {n} accounts</comment>
        <translation>
            <numerusform>{n} Konto löschen</numerusform>
            <numerusform>{n} Konten löschen</numerusform>
        </translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Type the address, {answer}, to confirm.</source>
        <translation>Geben Sie zur Bestätigung die Adresse {answer} ein.</translation>
    </message>
    <message>
        <source>Type the number of accounts, {answer}, to confirm.</source>
        <translation>Geben Sie zur Bestätigung die Anzahl der Konten ({answer}) ein.</translation>
    </message>
    <message numerus="yes">
        <source>Deleting {n} account…</source>
        <comment>Deleting {n} accounts…</comment>
        <translation>
            <numerusform>{n} Konto wird gelöscht…</numerusform>
            <numerusform>{n} Konten werden gelöscht…</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FieldError</name>
    <message>
        <source>Invalid entry: {message}</source>
        <translation>Ungültige Eingabe: {message}</translation>
    </message>
    <message>
        <source>Required</source>
        <translation>Erforderlich</translation>
    </message>
</context>
<context>
    <name>FilterBar</name>
    <message>
        <source>Filter by email</source>
        <translation>Nach E-Mail filtern</translation>
    </message>
    <message>
        <source>Email contains…</source>
        <translation>E-Mail enthält…</translation>
    </message>
    <message>
        <source>Clear the filter</source>
        <translation>Filter löschen</translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation>&amp;Filter:</translation>
    </message>
    <message>
        <source>Starts &amp;with</source>
        <translation>Beginnt &amp;mit</translation>
    </message>
    <message>
        <source>Match only the start of the address</source>
        <translation>Nur den Anfang der Adresse vergleichen</translation>
    </message>
    <message>
        <source>Match the start of the address (fastest on very large tables)</source>
        <translation>Den Anfang der Adresse vergleichen (am schnellsten bei sehr großen Tabellen)</translation>
    </message>
    <message>
        <source>Show role</source>
        <translation>Rolle anzeigen</translation>
    </message>
    <message>
        <source>Ro&amp;le:</source>
        <translation>&amp;Rolle:</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Reload from the database (F5)</source>
        <translation>Aus der Datenbank neu laden (F5)</translation>
    </message>
    <message>
        <source>All roles</source>
        <translation>Alle Rollen</translation>
    </message>
</context>
<context>
    <name>FormDialog</name>
    <message>
        <source>desktop-auth logo</source>
        <translation>desktop-auth-Logo</translation>
    </message>
    <message>
        <source>Working</source>
        <translation>In Arbeit</translation>
    </message>
    <message>
        <source>S&amp;how password</source>
        <translation>Passwort an&amp;zeigen</translation>
    </message>
    <message>
        <source>S&amp;how passwords</source>
        <translation>Passwörter an&amp;zeigen</translation>
    </message>
    <message numerus="yes">
        <source>At least {n} character</source>
        <comment>At least {n} characters</comment>
        <translation>
            <numerusform>Mindestens {n} Zeichen</numerusform>
            <numerusform>Mindestens {n} Zeichen</numerusform>
        </translation>
    </message>
    <message>
        <source>Confirm password</source>
        <translation>Passwort bestätigen</translation>
    </message>
    <message>
        <source>C&amp;onfirm:</source>
        <translation>&amp;Bestätigen:</translation>
    </message>
</context>
<context>
    <name>HistoryTab</name>
    <message>
        <source>When</source>
        <translation>Zeitpunkt</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>Wer</translation>
    </message>
    <message>
        <source>Account / item</source>
        <translation>Konto / Element</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Ereignis</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Audit history</source>
        <translation>Aktivitätsverlauf</translation>
    </message>
    <message>
        <source>Filter the history</source>
        <translation>Verlauf filtern</translation>
    </message>
    <message>
        <source>Who, whom or what…</source>
        <translation>Wer, wen oder was…</translation>
    </message>
    <message>
        <source>Fil&amp;ter:</source>
        <translation>&amp;Filter:</translation>
    </message>
    <message>
        <source>Load &amp;older</source>
        <translation>Ä&amp;ltere laden</translation>
    </message>
    <message>
        <source>Load older entries</source>
        <translation>Ältere Einträge laden</translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation>CSV e&amp;xportieren…</translation>
    </message>
    <message>
        <source>Export the history to CSV</source>
        <translation>Verlauf als CSV exportieren</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} history row to {path}</source>
        <comment>Exported {n} history rows to {path}</comment>
        <translation>
            <numerusform>{n} Verlaufszeile nach {path} exportiert</numerusform>
            <numerusform>{n} Verlaufszeilen nach {path} exportiert</numerusform>
        </translation>
    </message>
    <message>
        <source>Export history</source>
        <translation>Verlauf exportieren</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>CSV-Dateien</translation>
    </message>
</context>
<context>
    <name>Identity</name>
    <message>
        <source>Enter an email address.</source>
        <translation>Geben Sie eine E-Mail-Adresse ein.</translation>
    </message>
    <message>
        <source>An email address cannot contain spaces.</source>
        <translation>Eine E-Mail-Adresse darf keine Leerzeichen enthalten.</translation>
    </message>
    <message numerus="yes">
        <source>An email address has at most {n} character.</source>
        <comment>An email address has at most {n} characters.</comment>
        <translation>
            <numerusform>Eine E-Mail-Adresse hat höchstens {n} Zeichen.</numerusform>
            <numerusform>Eine E-Mail-Adresse hat höchstens {n} Zeichen.</numerusform>
        </translation>
    </message>
    <message>
        <source>An email address must have an @-sign.</source>
        <translation>Eine E-Mail-Adresse muss ein @-Zeichen enthalten.</translation>
    </message>
    <message>
        <source>The email address has the "full-width" at-sign (@) character instead of a regular at-sign.</source>
        <translation>Die E-Mail-Adresse enthält das „vollbreite“ @-Zeichen (＠) statt eines normalen @-Zeichens.</translation>
    </message>
    <message>
        <source>The email address has the "small commercial at" character instead of a regular at-sign.</source>
        <translation>Die E-Mail-Adresse enthält das Zeichen „kleines kommerzielles At“ statt eines normalen @-Zeichens.</translation>
    </message>
    <message>
        <source>There must be something before the @-sign.</source>
        <translation>Vor dem @-Zeichen muss etwas stehen.</translation>
    </message>
    <message>
        <source>There must be something after the @-sign.</source>
        <translation>Nach dem @-Zeichen muss etwas stehen.</translation>
    </message>
    <message>
        <source>An email address cannot have two periods in a row.</source>
        <translation>Eine E-Mail-Adresse darf nicht zwei Punkte hintereinander enthalten.</translation>
    </message>
    <message>
        <source>An email address cannot have a period and a hyphen next to each other.</source>
        <translation>Eine E-Mail-Adresse darf keinen Punkt direkt neben einem Bindestrich enthalten.</translation>
    </message>
    <message>
        <source>An email address cannot start with a period.</source>
        <translation>Eine E-Mail-Adresse darf nicht mit einem Punkt beginnen.</translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately before the @-sign.</source>
        <translation>Eine E-Mail-Adresse darf keinen Punkt direkt vor dem @-Zeichen enthalten.</translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately after the @-sign.</source>
        <translation>Eine E-Mail-Adresse darf keinen Punkt direkt nach dem @-Zeichen enthalten.</translation>
    </message>
    <message>
        <source>An email address cannot have a hyphen immediately after the @-sign.</source>
        <translation>Eine E-Mail-Adresse darf keinen Bindestrich direkt nach dem @-Zeichen enthalten.</translation>
    </message>
    <message>
        <source>An email address cannot end with a period.</source>
        <translation>Eine E-Mail-Adresse darf nicht mit einem Punkt enden.</translation>
    </message>
    <message>
        <source>An email address cannot end with a hyphen.</source>
        <translation>Eine E-Mail-Adresse darf nicht mit einem Bindestrich enden.</translation>
    </message>
    <message>
        <source>An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.</source>
        <translation>Eine E-Mail-Adresse darf direkt nach dem @-Zeichen oder nach einem Punkt keine zwei Buchstaben gefolgt von zwei Bindestrichen enthalten, außer bei Punycode.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It should have a period.</source>
        <translation>Der Teil nach dem @-Zeichen ist ungültig. Er sollte einen Punkt enthalten.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It is not within a valid top-level domain.</source>
        <translation>Der Teil nach dem @-Zeichen ist ungültig. Er liegt nicht in einer gültigen Top-Level-Domain.</translation>
    </message>
    <message>
        <source>The part after the @-sign is a special-use or reserved name that cannot be used with email.</source>
        <translation>Der Teil nach dem @-Zeichen ist ein reservierter Name oder ein Name für besondere Zwecke, der nicht für E-Mail verwendet werden kann.</translation>
    </message>
    <message>
        <source>A bracketed IP address after the @-sign is not allowed here.</source>
        <translation>Eine IP-Adresse in eckigen Klammern nach dem @-Zeichen ist hier nicht zulässig.</translation>
    </message>
    <message>
        <source>A display name and angle brackets around the email address are not permitted here.</source>
        <translation>Ein Anzeigename und spitze Klammern um die E-Mail-Adresse sind hier nicht zulässig.</translation>
    </message>
    <message>
        <source>Quoting the part before the @-sign is not allowed here.</source>
        <translation>Anführungszeichen um den Teil vor dem @-Zeichen sind hier nicht zulässig.</translation>
    </message>
    <message>
        <source>The email address contains an invalid character.</source>
        <translation>Die E-Mail-Adresse enthält ein ungültiges Zeichen.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign.</source>
        <translation>Die E-Mail-Adresse enthält ungültige Zeichen vor dem @-Zeichen.</translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported.</source>
        <translation>Internationale Zeichen vor dem @-Zeichen werden nicht unterstützt.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters after the @-sign after IDNA encoding.</source>
        <translation>Die E-Mail-Adresse enthält nach der IDNA-Kodierung ungültige Zeichen nach dem @-Zeichen.</translation>
    </message>
    <message>
        <source>There can't be anything after the email address.</source>
        <translation>Nach der E-Mail-Adresse darf nichts mehr stehen.</translation>
    </message>
    <message>
        <source>An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end.</source>
        <translation>Auf eine öffnende spitze Klammer am Anfang der E-Mail-Adresse muss eine schließende spitze Klammer am Ende folgen.</translation>
    </message>
    <message>
        <source>The email address is not valid ASCII.</source>
        <translation>Die E-Mail-Adresse ist kein gültiges ASCII.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign: {characters}.</source>
        <translation>Die E-Mail-Adresse enthält ungültige Zeichen vor dem @-Zeichen: {characters}.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters in quotes before the @-sign: {characters}.</source>
        <translation>Die E-Mail-Adresse enthält ungültige Zeichen in Anführungszeichen vor dem @-Zeichen: {characters}.</translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported: {characters}.</source>
        <translation>Internationale Zeichen vor dem @-Zeichen werden nicht unterstützt: {characters}.</translation>
    </message>
    <message>
        <source>The email address contains unsafe characters: {characters}.</source>
        <translation>Die E-Mail-Adresse enthält unsichere Zeichen: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters after Unicode normalization: {characters}.</source>
        <translation>Der Teil nach dem @-Zeichen enthält nach der Unicode-Normalisierung ungültige Zeichen: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters in brackets: {characters}.</source>
        <translation>Der Teil nach dem @-Zeichen enthält ungültige Zeichen in eckigen Klammern: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters: {characters}.</source>
        <translation>Der Teil nach dem @-Zeichen enthält ungültige Zeichen: {characters}.</translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} byte too many after IDNA encoding).</source>
        <comment>The email address is too long after the @-sign ({n} bytes too many after IDNA encoding).</comment>
        <translation>
            <numerusform>Die E-Mail-Adresse ist nach dem @-Zeichen zu lang ({n} Byte zu viel nach der IDNA-Kodierung).</numerusform>
            <numerusform>Die E-Mail-Adresse ist nach dem @-Zeichen zu lang ({n} Bytes zu viel nach der IDNA-Kodierung).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long before the @-sign ({n} character too many).</source>
        <comment>The email address is too long before the @-sign ({n} characters too many).</comment>
        <translation>
            <numerusform>Die E-Mail-Adresse ist vor dem @-Zeichen zu lang ({n} Zeichen zu viel).</numerusform>
            <numerusform>Die E-Mail-Adresse ist vor dem @-Zeichen zu lang ({n} Zeichen zu viel).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} character too many).</source>
        <comment>The email address is too long after the @-sign ({n} characters too many).</comment>
        <translation>
            <numerusform>Die E-Mail-Adresse ist nach dem @-Zeichen zu lang ({n} Zeichen zu viel).</numerusform>
            <numerusform>Die E-Mail-Adresse ist nach dem @-Zeichen zu lang ({n} Zeichen zu viel).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long ({n} character too many).</source>
        <comment>The email address is too long ({n} characters too many).</comment>
        <translation>
            <numerusform>Die E-Mail-Adresse ist zu lang ({n} Zeichen zu viel).</numerusform>
            <numerusform>Die E-Mail-Adresse ist zu lang ({n} Zeichen zu viel).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>After the @-sign, periods cannot be separated by so many characters ({n} character too many).</source>
        <comment>After the @-sign, periods cannot be separated by so many characters ({n} characters too many).</comment>
        <translation>
            <numerusform>Nach dem @-Zeichen dürfen Punkte nicht durch so viele Zeichen getrennt sein ({n} Zeichen zu viel).</numerusform>
            <numerusform>Nach dem @-Zeichen dürfen Punkte nicht durch so viele Zeichen getrennt sein ({n} Zeichen zu viel).</numerusform>
        </translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters.</source>
        <translation>Der Teil nach dem @-Zeichen enthält ungültige Zeichen.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not a valid domain name or address.</source>
        <translation>Der Teil nach dem @-Zeichen ist kein gültiger Domainname und keine gültige Adresse.</translation>
    </message>
    <message>
        <source>This is not a valid email address.</source>
        <translation>Dies ist keine gültige E-Mail-Adresse.</translation>
    </message>
</context>
<context>
    <name>ImportPreviewModel</name>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>line {line}, has problems</source>
        <translation>Zeile {line}, fehlerhaft</translation>
    </message>
    <message>
        <source>line {line}, no problems</source>
        <translation>Zeile {line}, fehlerfrei</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>Zeile</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>Probleme</translation>
    </message>
</context>
<context>
    <name>ImportUsersDialog</name>
    <message>
        <source>Import users</source>
        <translation>Benutzer importieren</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>CSV-Dateien</translation>
    </message>
    <message>
        <source>All files</source>
        <translation>Alle Dateien</translation>
    </message>
    <message>
        <source>Save the temporary passwords</source>
        <translation>Temporäre Passwörter speichern</translation>
    </message>
    <message>
        <source>Create many accounts at once from a CSV file; each gets its own temporary password.</source>
        <translation>Legen Sie viele Konten auf einmal aus einer CSV-Datei an; jedes erhält ein eigenes temporäres Passwort.</translation>
    </message>
    <message>
        <source>The file is UTF-8 text whose first line names the columns: {columns} ({role_column} may be left out; then the role is {default_role}). At most {rows} rows. Every row is checked first; nothing is imported until no row has a problem, and then all of them are, or none.</source>
        <translation>Die Datei ist UTF-8-Text, dessen erste Zeile die Spalten benennt: {columns} (die Spalte {role_column} kann fehlen; dann ist die Rolle {default_role}). Höchstens {rows} Zeilen. Jede Zeile wird zuerst geprüft; importiert wird erst, wenn keine Zeile mehr ein Problem hat, und dann alle Zeilen oder keine.</translation>
    </message>
    <message>
        <source>&amp;Choose file…</source>
        <translation>Datei &amp;auswählen…</translation>
    </message>
    <message>
        <source>Choose the CSV file to import</source>
        <translation>Zu importierende CSV-Datei auswählen</translation>
    </message>
    <message>
        <source>No file chosen.</source>
        <translation>Keine Datei ausgewählt.</translation>
    </message>
    <message>
        <source>Rows of the file</source>
        <translation>Zeilen der Datei</translation>
    </message>
    <message>
        <source>&amp;Rows:</source>
        <translation>&amp;Zeilen:</translation>
    </message>
    <message>
        <source>&amp;Only rows with problems</source>
        <translation>&amp;Nur Zeilen mit Problemen</translation>
    </message>
    <message>
        <source>Show only the rows with problems</source>
        <translation>Nur die Zeilen mit Problemen anzeigen</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>&amp;Importieren</translation>
    </message>
    <message>
        <source>Import every row</source>
        <translation>Alle Zeilen importieren</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Checking every row…</source>
        <translation>Alle Zeilen werden geprüft…</translation>
    </message>
    <message numerus="yes">
        <source>No problems: {n} row ready to import.</source>
        <comment>No problems: {n} rows ready to import.</comment>
        <translation>
            <numerusform>Keine Probleme: {n} Zeile bereit zum Import.</numerusform>
            <numerusform>Keine Probleme: {n} Zeilen bereit zum Import.</numerusform>
        </translation>
    </message>
    <message>
        <source>1 of 1 row has problems.</source>
        <translation>1 von 1 Zeile hat Probleme.</translation>
    </message>
    <message numerus="yes">
        <source>{n} of {total} rows has problems.</source>
        <comment>{n} of {total} rows have problems.</comment>
        <translation>
            <numerusform>{n} von {total} Zeilen hat Probleme.</numerusform>
            <numerusform>{n} von {total} Zeilen haben Probleme.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Importing {n} account…</source>
        <comment>Importing {n} accounts…</comment>
        <translation>
            <numerusform>{n} Konto wird importiert…</numerusform>
            <numerusform>{n} Konten werden importiert…</numerusform>
        </translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>&amp;Schließen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account.</source>
        <comment>Imported {n} accounts.</comment>
        <translation>
            <numerusform>{n} Konto importiert.</numerusform>
            <numerusform>{n} Konten importiert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</source>
        <comment>Imported {n} accounts. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</comment>
        <translation>
            <numerusform>{n} Konto importiert. Das temporäre Passwort steht in {output} (nur für Sie lesbar); es muss bei der ersten Anmeldung geändert werden und läuft am {expires} ab.</numerusform>
            <numerusform>{n} Konten importiert. Die temporären Passwörter stehen in {output} (nur für Sie lesbar); jedes muss bei der ersten Anmeldung geändert werden und läuft am {expires} ab.</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Save passwords…</source>
        <translation>Passwörter s&amp;peichern…</translation>
    </message>
    <message>
        <source>Save the temporary passwords to a file</source>
        <translation>Temporäre Passwörter in einer Datei speichern</translation>
    </message>
    <message>
        <source>The passwords could not be saved: {problem} Choose another place with Save passwords. If you close this window first, reset those accounts' passwords to give them new ones.</source>
        <translation>Die Passwörter konnten nicht gespeichert werden: {problem} Wählen Sie mit „Passwörter speichern“ einen anderen Ort. Wenn Sie dieses Fenster vorher schließen, setzen Sie die Passwörter dieser Konten zurück, um ihnen neue zu geben.</translation>
    </message>
    <message>
        <source>Saving the passwords…</source>
        <translation>Passwörter werden gespeichert…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen…</translation>
    </message>
    <message>
        <source>&amp;Import CSV…</source>
        <translation>CSV &amp;importieren…</translation>
    </message>
    <message>
        <source>Import users from a CSV file</source>
        <translation>Benutzer aus einer CSV-Datei importieren</translation>
    </message>
</context>
<context>
    <name>Lifecycle</name>
    <message numerus="yes">
        <source>No account has the address {emails} and {n} more; nothing was deleted.</source>
        <comment>No account has the address {emails} and {n} more; nothing was deleted.</comment>
        <translation>
            <numerusform>Für {emails} und {n} weitere Adresse gibt es kein Konto; es wurde nichts gelöscht.</numerusform>
            <numerusform>Für {emails} und {n} weitere Adressen gibt es kein Konto; es wurde nichts gelöscht.</numerusform>
        </translation>
    </message>
    <message>
        <source>No account has the address {emails}; nothing was deleted.</source>
        <translation>Für {emails} gibt es kein Konto; es wurde nichts gelöscht.</translation>
    </message>
    <message>
        <source>An account still has the address {email}: delete the account first.</source>
        <translation>Ein Konto hat noch die Adresse {email}: Löschen Sie zuerst das Konto.</translation>
    </message>
</context>
<context>
    <name>Lists</name>
    <message>
        <source>, </source>
        <translation>, </translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Sign in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <source>The wait is over: you can sign in again.</source>
        <translation>Die Wartezeit ist vorbei: Sie können sich wieder anmelden.</translation>
    </message>
    <message>
        <source>Sign in to your desktop-auth account.</source>
        <translation>Melden Sie sich bei Ihrem desktop-auth-Konto an.</translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation>&amp;E-Mail:</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>&amp;Passwort:</translation>
    </message>
    <message>
        <source>&amp;Create account…</source>
        <translation>&amp;Konto erstellen…</translation>
    </message>
    <message>
        <source>Create account</source>
        <translation>Konto erstellen</translation>
    </message>
    <message>
        <source>&amp;Forgot password…</source>
        <translation>Passwort &amp;vergessen…</translation>
    </message>
    <message>
        <source>Forgot password</source>
        <translation>Passwort vergessen</translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation>&amp;Anmelden</translation>
    </message>
    <message>
        <source>Connecting to the database…</source>
        <translation>Verbindung zur Datenbank wird hergestellt…</translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation>Geben Sie Ihre E-Mail-Adresse ein.</translation>
    </message>
    <message>
        <source>Enter your password.</source>
        <translation>Geben Sie Ihr Passwort ein.</translation>
    </message>
    <message>
        <source>Checking your password…</source>
        <translation>Passwort wird geprüft…</translation>
    </message>
    <message numerus="yes">
        <source>Your password was changed. Sign in with the new one. You have {n} recovery code left.</source>
        <comment>Your password was changed. Sign in with the new one. You have {n} recovery codes left.</comment>
        <translation>
            <numerusform>Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen an. Sie haben noch {n} Wiederherstellungscode.</numerusform>
            <numerusform>Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen an. Sie haben noch {n} Wiederherstellungscodes.</numerusform>
        </translation>
    </message>
    <message>
        <source>Your password was changed. Sign in with the new one. That was your last recovery code: make new ones from your account window.</source>
        <translation>Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen an. Das war Ihr letzter Wiederherstellungscode: Erstellen Sie in Ihrem Kontofenster neue.</translation>
    </message>
</context>
<context>
    <name>NewAccountDialog</name>
    <message>
        <source>&amp;Email:</source>
        <translation>&amp;E-Mail:</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>&amp;Passwort:</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation>Geben Sie ein Passwort ein.</translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation>Konto wird erstellt…</translation>
    </message>
</context>
<context>
    <name>OwnAccount</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile; sign in again.</source>
        <translation>Ihr Konto wurde inzwischen an anderer Stelle geändert; melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>This is already your email address.</source>
        <translation>Das ist bereits Ihre E-Mail-Adresse.</translation>
    </message>
    <message>
        <source>{email} already has that address.</source>
        <translation>{email} hat diese Adresse bereits.</translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>Kein Konto hat die E-Mail-Adresse {email}.</translation>
    </message>
    <message>
        <source>{email} was changed or deleted meanwhile; nothing was renamed.</source>
        <translation>{email} wurde inzwischen geändert oder gelöscht; es wurde nichts umbenannt.</translation>
    </message>
</context>
<context>
    <name>OwnAccountDialog</name>
    <message>
        <source>Current password</source>
        <translation>Aktuelles Passwort</translation>
    </message>
    <message>
        <source>C&amp;urrent password:</source>
        <translation>&amp;Aktuelles Passwort:</translation>
    </message>
</context>
<context>
    <name>PasswordPolicy</name>
    <message numerus="yes">
        <source>Use at least {n} character. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</source>
        <comment>Use at least {n} characters. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</comment>
        <translation>
            <numerusform>Verwenden Sie mindestens {n} Zeichen. Einige Wörter ohne Zusammenhang ergeben ein Passwort, das lang, sicher und leicht zu merken ist. Alle Zeichen sind erlaubt.</numerusform>
            <numerusform>Verwenden Sie mindestens {n} Zeichen. Einige Wörter ohne Zusammenhang ergeben ein Passwort, das lang, sicher und leicht zu merken ist. Alle Zeichen sind erlaubt.</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation>Geben Sie ein Passwort ein.</translation>
    </message>
    <message>
        <source>Use at most {maximum} characters (this has {length}).</source>
        <translation>Verwenden Sie höchstens {maximum} Zeichen (dieses hat {length}).</translation>
    </message>
    <message>
        <source>Remove characters that are not valid text.</source>
        <translation>Entfernen Sie Zeichen, die kein gültiger Text sind.</translation>
    </message>
    <message>
        <source>Remove control characters such as tabs or line breaks.</source>
        <translation>Entfernen Sie Steuerzeichen wie Tabulatoren oder Zeilenumbrüche.</translation>
    </message>
    <message>
        <source>Use visible characters: this password is only spaces or invisible characters.</source>
        <translation>Verwenden Sie sichtbare Zeichen: Dieses Passwort besteht nur aus Leerzeichen oder unsichtbaren Zeichen.</translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}, not counting {hidden} invisible).</source>
        <comment>Use at least {n} characters (this has {visible}, not counting {hidden} invisible).</comment>
        <translation>
            <numerusform>Verwenden Sie mindestens {n} Zeichen (dieses hat {visible}, ohne {hidden} unsichtbare).</numerusform>
            <numerusform>Verwenden Sie mindestens {n} Zeichen (dieses hat {visible}, ohne {hidden} unsichtbare).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}).</source>
        <comment>Use at least {n} characters (this has {visible}).</comment>
        <translation>
            <numerusform>Verwenden Sie mindestens {n} Zeichen (dieses hat {visible}).</numerusform>
            <numerusform>Verwenden Sie mindestens {n} Zeichen (dieses hat {visible}).</numerusform>
        </translation>
    </message>
    <message>
        <source>This is a commonly used password; choose another.</source>
        <translation>Dies ist ein häufig verwendetes Passwort; wählen Sie ein anderes.</translation>
    </message>
    <message>
        <source>Don't build your password from your email address.</source>
        <translation>Bilden Sie Ihr Passwort nicht aus Ihrer E-Mail-Adresse.</translation>
    </message>
</context>
<context>
    <name>PasswordStrength</name>
    <message>
        <source>Use a few words, avoid common phrases.</source>
        <translation>Verwenden Sie mehrere Wörter, aber keine gängigen Redewendungen.</translation>
    </message>
    <message>
        <source>No need for symbols, digits, or uppercase letters.</source>
        <translation>Symbole, Ziffern oder Großbuchstaben sind nicht nötig.</translation>
    </message>
    <message>
        <source>Add another word or two. Uncommon words are better.</source>
        <translation>Fügen Sie ein oder zwei weitere Wörter hinzu. Ungewöhnliche Wörter sind besser.</translation>
    </message>
    <message>
        <source>Use a longer keyboard pattern with more turns.</source>
        <translation>Verwenden Sie ein längeres Tastaturmuster mit mehr Richtungswechseln.</translation>
    </message>
    <message>
        <source>Avoid repeated words and characters.</source>
        <translation>Vermeiden Sie wiederholte Wörter und Zeichen.</translation>
    </message>
    <message>
        <source>Avoid sequences.</source>
        <translation>Vermeiden Sie Zeichenfolgen.</translation>
    </message>
    <message>
        <source>Avoid recent years.</source>
        <translation>Vermeiden Sie aktuelle Jahreszahlen.</translation>
    </message>
    <message>
        <source>Avoid years that are associated with you.</source>
        <translation>Vermeiden Sie Jahreszahlen, die mit Ihnen in Verbindung stehen.</translation>
    </message>
    <message>
        <source>Avoid dates and years that are associated with you.</source>
        <translation>Vermeiden Sie Daten und Jahreszahlen, die mit Ihnen in Verbindung stehen.</translation>
    </message>
    <message>
        <source>Capitalization doesn't help very much.</source>
        <translation>Großschreibung hilft nicht viel.</translation>
    </message>
    <message>
        <source>All-uppercase is almost as easy to guess as all-lowercase.</source>
        <translation>Nur Großbuchstaben sind fast so leicht zu erraten wie nur Kleinbuchstaben.</translation>
    </message>
    <message>
        <source>Reversed words aren't much harder to guess.</source>
        <translation>Umgekehrte Wörter sind kaum schwerer zu erraten.</translation>
    </message>
    <message>
        <source>Predictable substitutions like '@' instead of 'a' don't help very much.</source>
        <translation>Vorhersehbare Ersetzungen wie '@' statt 'a' helfen nicht viel.</translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess.</source>
        <translation>Gerade Tastenreihen sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess.</source>
        <translation>Kurze Tastaturmuster sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess.</source>
        <translation>Wiederholungen wie „aaa“ sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc".</source>
        <translation>Wiederholungen wie „abcabcabc“ sind nur wenig schwerer zu erraten als „abc“.</translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess.</source>
        <translation>Folgen wie „abc“ oder „6543“ sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Recent years are easy to guess.</source>
        <translation>Aktuelle Jahreszahlen sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Dates are often easy to guess.</source>
        <translation>Datumsangaben sind oft leicht zu erraten.</translation>
    </message>
    <message>
        <source>This is a top-10 common password.</source>
        <translation>Dies ist eines der 10 häufigsten Passwörter.</translation>
    </message>
    <message>
        <source>This is a top-100 common password.</source>
        <translation>Dies ist eines der 100 häufigsten Passwörter.</translation>
    </message>
    <message>
        <source>This is a very common password.</source>
        <translation>Dies ist ein sehr häufiges Passwort.</translation>
    </message>
    <message>
        <source>This is similar to a commonly used password.</source>
        <translation>Dies ähnelt einem häufig verwendeten Passwort.</translation>
    </message>
    <message>
        <source>A word by itself is easy to guess.</source>
        <translation>Ein einzelnes Wort ist leicht zu erraten.</translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess.</source>
        <translation>Vor- und Nachnamen allein sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess.</source>
        <translation>Häufige Vor- und Nachnamen sind leicht zu erraten.</translation>
    </message>
    <message>
        <source>This password is easy to guess; add another word or two.</source>
        <translation>Dieses Passwort ist leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess; add another word or two.</source>
        <translation>Gerade Tastenreihen sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess; add another word or two.</source>
        <translation>Kurze Tastaturmuster sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess; add another word or two.</source>
        <translation>Wiederholungen wie „aaa“ sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc"; add another word or two.</source>
        <translation>Wiederholungen wie „abcabcabc“ sind nur wenig schwerer zu erraten als „abc“; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess; add another word or two.</source>
        <translation>Folgen wie „abc“ oder „6543“ sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Recent years are easy to guess; add another word or two.</source>
        <translation>Aktuelle Jahreszahlen sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Dates are often easy to guess; add another word or two.</source>
        <translation>Datumsangaben sind oft leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>This is a top-10 common password; add another word or two.</source>
        <translation>Dies ist eines der 10 häufigsten Passwörter; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>This is a top-100 common password; add another word or two.</source>
        <translation>Dies ist eines der 100 häufigsten Passwörter; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>This is a very common password; add another word or two.</source>
        <translation>Dies ist ein sehr häufiges Passwort; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>This is similar to a commonly used password; add another word or two.</source>
        <translation>Dies ähnelt einem häufig verwendeten Passwort; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>A word by itself is easy to guess; add another word or two.</source>
        <translation>Ein einzelnes Wort ist leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess; add another word or two.</source>
        <translation>Vor- und Nachnamen allein sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess; add another word or two.</source>
        <translation>Häufige Vor- und Nachnamen sind leicht zu erraten; fügen Sie ein oder zwei weitere Wörter hinzu.</translation>
    </message>
</context>
<context>
    <name>PasswordTable</name>
    <message>
        <source>Temporary passwords</source>
        <translation>Temporäre Passwörter</translation>
    </message>
</context>
<context>
    <name>PendingEdits</name>
    <message>
        <source>active</source>
        <translation>aktiv</translation>
    </message>
    <message>
        <source>inactive</source>
        <translation>inaktiv</translation>
    </message>
    <message>
        <source>Unsaved: nothing</source>
        <translation>Nicht gespeichert: nichts</translation>
    </message>
    <message>
        <source>Unsaved: activate</source>
        <translation>Nicht gespeichert: aktivieren</translation>
    </message>
    <message>
        <source>Unsaved: deactivate</source>
        <translation>Nicht gespeichert: deaktivieren</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}</source>
        <translation>Nicht gespeichert: Rolle {old} → {new}</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, activate</source>
        <translation>Nicht gespeichert: Rolle {old} → {new}, aktivieren</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, deactivate</source>
        <translation>Nicht gespeichert: Rolle {old} → {new}, deaktivieren</translation>
    </message>
    <message>
        <source>Unsaved change: nothing</source>
        <translation>Nicht gespeicherte Änderung: keine</translation>
    </message>
    <message>
        <source>Unsaved change: activate</source>
        <translation>Nicht gespeicherte Änderung: aktivieren</translation>
    </message>
    <message>
        <source>Unsaved change: deactivate</source>
        <translation>Nicht gespeicherte Änderung: deaktivieren</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}</source>
        <translation>Nicht gespeicherte Änderung: Rolle von {old} zu {new}</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, activate</source>
        <translation>Nicht gespeicherte Änderung: Rolle von {old} zu {new}, aktivieren</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, deactivate</source>
        <translation>Nicht gespeicherte Änderung: Rolle von {old} zu {new}, deaktivieren</translation>
    </message>
    <message>
        <source>{role}, unsaved, was {old}</source>
        <translation>{role}, nicht gespeichert, vorher {old}</translation>
    </message>
    <message>
        <source>active, unsaved, was inactive</source>
        <translation>aktiv, nicht gespeichert, vorher inaktiv</translation>
    </message>
    <message>
        <source>inactive, unsaved, was active</source>
        <translation>inaktiv, nicht gespeichert, vorher aktiv</translation>
    </message>
</context>
<context>
    <name>RecordActions</name>
    <message numerus="yes">
        <source>Unlocked {n} account.</source>
        <comment>Unlocked {n} accounts.</comment>
        <translation>
            <numerusform>{n} Konto entsperrt.</numerusform>
            <numerusform>{n} Konten entsperrt.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account.</source>
        <comment>Reset the passwords of {n} accounts.</comment>
        <translation>
            <numerusform>Passwort von {n} Konto zurückgesetzt.</numerusform>
            <numerusform>Passwörter von {n} Konten zurückgesetzt.</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}.</source>
        <translation>Zwei-Faktor-Anmeldung von {email} zurückgesetzt.</translation>
    </message>
    <message>
        <source>Created {email}.</source>
        <translation>{email} erstellt.</translation>
    </message>
    <message>
        <source>The selected accounts no longer exist.</source>
        <translation>Die ausgewählten Konten existieren nicht mehr.</translation>
    </message>
    <message>
        <source>Deleted {email}.</source>
        <translation>{email} gelöscht.</translation>
    </message>
    <message numerus="yes">
        <source>Deleted {n} account.</source>
        <comment>Deleted {n} accounts.</comment>
        <translation>
            <numerusform>{n} Konto gelöscht.</numerusform>
            <numerusform>{n} Konten gelöscht.</numerusform>
        </translation>
    </message>
    <message>
        <source>Export users</source>
        <translation>Benutzer exportieren</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>CSV-Dateien</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} user to {path}</source>
        <comment>Exported {n} users to {path}</comment>
        <translation>
            <numerusform>{n} Benutzer nach {path} exportiert</numerusform>
            <numerusform>{n} Benutzer nach {path} exportiert</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Recovery</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>Kein Konto hat die E-Mail-Adresse {email}.</translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation>Dieses Konto existiert nicht mehr.</translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation>Das Passwort wurde inzwischen an anderer Stelle geändert; melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>desktop-auth recovery codes for {email}, made {moment}.
Each code resets your password once. A new batch replaces these.</source>
        <translation>desktop-auth-Wiederherstellungscodes für {email}, erstellt {moment}.
Jeder Code setzt Ihr Passwort einmal zurück. Ein neuer Satz ersetzt diese Codes.</translation>
    </message>
</context>
<context>
    <name>RecoveryCodesDialog</name>
    <message>
        <source>New codes replace your earlier ones: those stop working at once.</source>
        <translation>Neue Codes ersetzen Ihre bisherigen: Diese funktionieren sofort nicht mehr.</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>Wiederherstellungscodes</translation>
    </message>
    <message>
        <source>If you forget your password, one of these codes lets you choose a new one.</source>
        <translation>Wenn Sie Ihr Passwort vergessen, können Sie mit einem dieser Codes ein neues wählen.</translation>
    </message>
    <message>
        <source>&amp;Make new codes</source>
        <translation>&amp;Neue Codes erstellen</translation>
    </message>
    <message>
        <source>Make new recovery codes</source>
        <translation>Neue Wiederherstellungscodes erstellen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>You have no unused codes.</source>
        <translation>Sie haben keine unbenutzten Codes.</translation>
    </message>
    <message numerus="yes">
        <source>You have {n} unused code.</source>
        <comment>You have {n} unused codes.</comment>
        <translation>
            <numerusform>Sie haben {n} unbenutzten Code.</numerusform>
            <numerusform>Sie haben {n} unbenutzte Codes.</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Making new codes…</source>
        <translation>Neue Codes werden erstellt…</translation>
    </message>
    <message>
        <source>Keep them somewhere safe, on paper or in a password manager: each one resets your password once. They are shown only now.</source>
        <translation>Bewahren Sie sie an einem sicheren Ort auf, auf Papier oder in einem Passwort-Manager: Mit jedem Code können Sie Ihr Passwort einmal zurücksetzen. Sie werden nur jetzt angezeigt.</translation>
    </message>
    <message>
        <source>Your earlier codes no longer work.</source>
        <translation>Ihre bisherigen Codes funktionieren nicht mehr.</translation>
    </message>
    <message>
        <source>Your &amp;codes:</source>
        <translation>Ihre &amp;Codes:</translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation>&amp;Kopieren</translation>
    </message>
    <message>
        <source>Copy the codes</source>
        <translation>Codes kopieren</translation>
    </message>
    <message>
        <source>&amp;Save to file…</source>
        <translation>In Datei &amp;speichern…</translation>
    </message>
    <message>
        <source>Save the codes to a file</source>
        <translation>Codes in einer Datei speichern</translation>
    </message>
    <message>
        <source>&amp;Done</source>
        <translation>&amp;Fertig</translation>
    </message>
    <message>
        <source>Close and forget the codes</source>
        <translation>Schließen und Codes verwerfen</translation>
    </message>
    <message>
        <source>Copied the codes.</source>
        <translation>Codes kopiert.</translation>
    </message>
    <message>
        <source>Save recovery codes</source>
        <translation>Wiederherstellungscodes speichern</translation>
    </message>
    <message>
        <source>Text files</source>
        <translation>Textdateien</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Wird gespeichert…</translation>
    </message>
    <message>
        <source>Saved the codes to {path} (readable only by you).</source>
        <translation>Codes in {path} gespeichert (nur für Sie lesbar).</translation>
    </message>
    <message>
        <source>Close without keeping the codes?</source>
        <translation>Schließen, ohne die Codes aufzubewahren?</translation>
    </message>
    <message>
        <source>The codes were neither copied nor saved, and they are not shown again. Without them, a forgotten password needs an administrator (you can make new codes from your account window).</source>
        <translation>Die Codes wurden weder kopiert noch gespeichert und werden nicht erneut angezeigt. Ohne sie ist bei einem vergessenen Passwort ein Administrator nötig (neue Codes können Sie in Ihrem Kontofenster erstellen).</translation>
    </message>
</context>
<context>
    <name>RegisterDialog</name>
    <message>
        <source>Create an account</source>
        <translation>Konto erstellen</translation>
    </message>
    <message>
        <source>Choose a long password: a few unrelated words work well.</source>
        <translation>Wählen Sie ein langes Passwort: Einige zusammenhanglose Wörter eignen sich gut.</translation>
    </message>
    <message>
        <source>&amp;Register</source>
        <translation>&amp;Registrieren</translation>
    </message>
    <message>
        <source>Register</source>
        <translation>Registrieren</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <source>Forgot password</source>
        <translation>Passwort vergessen</translation>
    </message>
    <message>
        <source>Use one of your recovery codes to choose a new password. Each code works once.</source>
        <translation>Wählen Sie mit einem Ihrer Wiederherstellungscodes ein neues Passwort. Jeder Code funktioniert nur einmal.</translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation>&amp;E-Mail:</translation>
    </message>
    <message>
        <source>Recovery code</source>
        <translation>Wiederherstellungscode</translation>
    </message>
    <message>
        <source>Recovery &amp;code:</source>
        <translation>Wiederherstellungs&amp;code:</translation>
    </message>
    <message>
        <source>Authenticator code</source>
        <translation>Authenticator-Code</translation>
    </message>
    <message>
        <source>Only if you use two-factor sign-in</source>
        <translation>Nur bei Zwei-Faktor-Anmeldung</translation>
    </message>
    <message>
        <source>&amp;Authenticator code:</source>
        <translation>&amp;Authenticator-Code:</translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation>&amp;Neues Passwort:</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>Neues Passwort</translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation>Neues Passwort bestätigen</translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation>Passwort &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>Reset the password with the code</source>
        <translation>Passwort mit dem Code zurücksetzen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation>Geben Sie Ihre E-Mail-Adresse ein.</translation>
    </message>
    <message>
        <source>Enter one of your recovery codes.</source>
        <translation>Geben Sie einen Ihrer Wiederherstellungscodes ein.</translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation>Geben Sie ein neues Passwort ein.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>Code wird geprüft…</translation>
    </message>
</context>
<context>
    <name>ResetTwoFactorDialog</name>
    <message>
        <source>Reset two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung zurücksetzen</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}?</source>
        <translation>Die Zwei-Faktor-Anmeldung von {email} zurücksetzen?</translation>
    </message>
    <message>
        <source>Their authenticator app stops working for this account: until they set one up again in their account window, the password alone signs in. Do this when they have lost their phone and their recovery codes, and you are sure the request is theirs. The history records it.</source>
        <translation>Die Authenticator-App dieser Person funktioniert für dieses Konto nicht mehr: Bis sie in ihrem Kontofenster erneut eine einrichtet, genügt zur Anmeldung das Passwort allein. Tun Sie dies, wenn die Person ihr Telefon und ihre Wiederherstellungscodes verloren hat und Sie sicher sind, dass die Anfrage von ihr stammt. Der Verlauf zeichnet dies auf.</translation>
    </message>
    <message>
        <source>&amp;Reset two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}</source>
        <translation>Die Zwei-Faktor-Anmeldung von {email} zurücksetzen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Resetting the two-factor sign-in of {email}…</source>
        <translation>Zwei-Faktor-Anmeldung von {email} wird zurückgesetzt…</translation>
    </message>
</context>
<context>
    <name>RoleDelegate</name>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
</context>
<context>
    <name>RoleEditor</name>
    <message>
        <source>Role editor — desktop-auth</source>
        <translation>Rolleneditor — desktop-auth</translation>
    </message>
    <message>
        <source>Role editor</source>
        <translation>Rolleneditor</translation>
    </message>
    <message>
        <source>U&amp;sers</source>
        <translation>&amp;Benutzer</translation>
    </message>
    <message>
        <source>Rol&amp;es</source>
        <translation>R&amp;ollen</translation>
    </message>
    <message>
        <source>Settin&amp;gs</source>
        <translation>&amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>&amp;Verlauf</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>Nicht gespeicherte Änderungen</translation>
    </message>
    <message numerus="yes">
        <source>{n} change is not saved. Save before closing?</source>
        <comment>{n} changes are not saved. Save before closing?</comment>
        <translation>
            <numerusform>{n} Änderung ist nicht gespeichert. Vor dem Schließen speichern?</numerusform>
            <numerusform>{n} Änderungen sind nicht gespeichert. Vor dem Schließen speichern?</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Roles</name>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>Es gibt keine Rolle namens '{role}'.</translation>
    </message>
    <message>
        <source>Enter a role name.</source>
        <translation>Geben Sie einen Rollennamen ein.</translation>
    </message>
    <message>
        <source>A role name has at most {limit} characters.</source>
        <translation>Ein Rollenname hat höchstens {limit} Zeichen.</translation>
    </message>
    <message>
        <source>A role name starts with a letter and holds only letters a-z, digits, '.', '_' or '-'.</source>
        <translation>Ein Rollenname beginnt mit einem Buchstaben und enthält nur die Buchstaben a-z, Ziffern, '.', '_' oder '-'.</translation>
    </message>
    <message>
        <source>A description has at most {limit} characters.</source>
        <translation>Eine Beschreibung hat höchstens {limit} Zeichen.</translation>
    </message>
    <message>
        <source>The description is not valid text.</source>
        <translation>Die Beschreibung ist kein gültiger Text.</translation>
    </message>
    <message>
        <source>A description is one line of text, without tabs or other control characters.</source>
        <translation>Eine Beschreibung ist eine einzelne Textzeile ohne Tabulatoren oder andere Steuerzeichen.</translation>
    </message>
    <message>
        <source>A description cannot hold characters that reverse the direction of text.</source>
        <translation>Eine Beschreibung darf keine Zeichen enthalten, die die Textrichtung umkehren.</translation>
    </message>
    <message>
        <source>The role is already named '{role}'.</source>
        <translation>Die Rolle heißt bereits '{role}'.</translation>
    </message>
</context>
<context>
    <name>RolesTab</name>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Beschreibung</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>Benutzer</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Roles</source>
        <translation>Rollen</translation>
    </message>
    <message>
        <source>New role name</source>
        <translation>Name der neuen Rolle</translation>
    </message>
    <message>
        <source>e.g. auditor</source>
        <translation>z. B. revisor</translation>
    </message>
    <message>
        <source>&amp;New role:</source>
        <translation>&amp;Neue Rolle:</translation>
    </message>
    <message>
        <source>&amp;Add role</source>
        <translation>Rolle &amp;hinzufügen</translation>
    </message>
    <message>
        <source>Add role</source>
        <translation>Rolle hinzufügen</translation>
    </message>
    <message>
        <source>&amp;Remove selected role</source>
        <translation>Ausgewählte Rolle &amp;entfernen</translation>
    </message>
    <message>
        <source>Remove the selected role</source>
        <translation>Ausgewählte Rolle entfernen</translation>
    </message>
    <message>
        <source>Name of the selected role</source>
        <translation>Name der ausgewählten Rolle</translation>
    </message>
    <message>
        <source>Na&amp;me:</source>
        <translation>Na&amp;me:</translation>
    </message>
    <message>
        <source>Rename ro&amp;le</source>
        <translation>Rolle &amp;umbenennen</translation>
    </message>
    <message>
        <source>Rename the selected role</source>
        <translation>Ausgewählte Rolle umbenennen</translation>
    </message>
    <message>
        <source>Description of the selected role</source>
        <translation>Beschreibung der ausgewählten Rolle</translation>
    </message>
    <message>
        <source>What the role is for (optional)</source>
        <translation>Wofür die Rolle gedacht ist (optional)</translation>
    </message>
    <message>
        <source>Descr&amp;iption:</source>
        <translation>Beschre&amp;ibung:</translation>
    </message>
    <message>
        <source>Save &amp;description</source>
        <translation>Beschreibung &amp;speichern</translation>
    </message>
    <message>
        <source>Save the description of the selected role</source>
        <translation>Beschreibung der ausgewählten Rolle speichern</translation>
    </message>
    <message>
        <source>Roles with what they are for and their number of users. 'admin' and 'user' are built in: they can be described but not renamed. A role can be removed only when nobody holds it.</source>
        <translation>Rollen mit ihrem Zweck und der Anzahl ihrer Benutzer. 'admin' und 'user' sind integriert: sie können beschrieben, aber nicht umbenannt werden. Eine Rolle kann nur entfernt werden, wenn sie niemandem zugewiesen ist.</translation>
    </message>
    <message>
        <source>built in</source>
        <translation>integriert</translation>
    </message>
    <message>
        <source>custom</source>
        <translation>benutzerdefiniert</translation>
    </message>
    <message>
        <source>no description</source>
        <translation>keine Beschreibung</translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation>
            <numerusform>{n} Benutzer</numerusform>
            <numerusform>{n} Benutzer</numerusform>
        </translation>
    </message>
    <message>
        <source>Select a role in the table first.</source>
        <translation>Wählen Sie zuerst eine Rolle in der Tabelle aus.</translation>
    </message>
    <message>
        <source>A built-in role keeps its name.</source>
        <translation>Eine integrierte Rolle behält ihren Namen.</translation>
    </message>
    <message>
        <source>Added role {role}.</source>
        <translation>Rolle {role} hinzugefügt.</translation>
    </message>
    <message>
        <source>Select a role to remove.</source>
        <translation>Wählen Sie eine Rolle zum Entfernen aus.</translation>
    </message>
    <message>
        <source>Removed role {role}.</source>
        <translation>Rolle {role} entfernt.</translation>
    </message>
    <message>
        <source>Select a custom role to rename.</source>
        <translation>Wählen Sie eine benutzerdefinierte Rolle zum Umbenennen aus.</translation>
    </message>
    <message>
        <source>Renamed role {old} to {new}.</source>
        <translation>Rolle {old} in {new} umbenannt.</translation>
    </message>
    <message>
        <source>Select a role to describe.</source>
        <translation>Wählen Sie eine Rolle zum Beschreiben aus.</translation>
    </message>
    <message>
        <source>Cleared the description of role {role}.</source>
        <translation>Beschreibung der Rolle {role} gelöscht.</translation>
    </message>
    <message>
        <source>Saved the description of role {role}.</source>
        <translation>Beschreibung der Rolle {role} gespeichert.</translation>
    </message>
</context>
<context>
    <name>Search</name>
    <message>
        <source>A search has at most {limit} characters (no address is longer); this one has {n}.</source>
        <translation>Eine Suche hat höchstens {limit} Zeichen (keine Adresse ist länger); diese hat {n}.</translation>
    </message>
</context>
<context>
    <name>ServiceErrors</name>
    <message>
        <source>An account with this email address already exists.</source>
        <translation>Es gibt bereits ein Konto mit dieser E-Mail-Adresse.</translation>
    </message>
    <message>
        <source>This address looks too much like an existing account's. Choose another.</source>
        <translation>Diese Adresse ähnelt zu sehr der eines bestehenden Kontos. Wählen Sie eine andere.</translation>
    </message>
    <message>
        <source>The email address or password is incorrect.</source>
        <translation>E-Mail-Adresse oder Passwort ist falsch.</translation>
    </message>
    <message>
        <source>This account has been deactivated. Ask an administrator to reactivate it.</source>
        <translation>Dieses Konto wurde deaktiviert. Bitten Sie einen Administrator, es wieder zu aktivieren.</translation>
    </message>
    <message>
        <source>This temporary password has expired. Ask an administrator for a new one.</source>
        <translation>Dieses temporäre Passwort ist abgelaufen. Bitten Sie einen Administrator um ein neues.</translation>
    </message>
    <message>
        <source>Choose your own password before you do anything else.</source>
        <translation>Wählen Sie zuerst ein eigenes Passwort, bevor Sie etwas anderes tun.</translation>
    </message>
    <message numerus="yes">
        <source>{n} second</source>
        <comment>{n} seconds</comment>
        <translation>
            <numerusform>{n} Sekunde</numerusform>
            <numerusform>{n} Sekunden</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} minute</source>
        <comment>{n} minutes</comment>
        <translation>
            <numerusform>{n} Minute</numerusform>
            <numerusform>{n} Minuten</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} second, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} seconds, or ask an administrator to unlock the account.</comment>
        <translation>
            <numerusform>Zu viele fehlgeschlagene Anmeldeversuche. Versuchen Sie es in {n} Sekunde erneut oder bitten Sie einen Administrator, das Konto zu entsperren.</numerusform>
            <numerusform>Zu viele fehlgeschlagene Anmeldeversuche. Versuchen Sie es in {n} Sekunden erneut oder bitten Sie einen Administrator, das Konto zu entsperren.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} minute, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} minutes, or ask an administrator to unlock the account.</comment>
        <translation>
            <numerusform>Zu viele fehlgeschlagene Anmeldeversuche. Versuchen Sie es in {n} Minute erneut oder bitten Sie einen Administrator, das Konto zu entsperren.</numerusform>
            <numerusform>Zu viele fehlgeschlagene Anmeldeversuche. Versuchen Sie es in {n} Minuten erneut oder bitten Sie einen Administrator, das Konto zu entsperren.</numerusform>
        </translation>
    </message>
    <message>
        <source>Only an active administrator can do this.</source>
        <translation>Nur ein aktiver Administrator kann dies tun.</translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: the edited accounts. Nothing was saved; review the reloaded rows and save again.</source>
        <translation>Zwischenzeitlich von jemand anderem geändert: die bearbeiteten Konten. Es wurde nichts gespeichert; prüfen Sie die neu geladenen Zeilen und speichern Sie erneut.</translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: {emails}. Nothing was saved; review the reloaded rows and save again.</source>
        <translation>Zwischenzeitlich von jemand anderem geändert: {emails}. Es wurde nichts gespeichert; prüfen Sie die neu geladenen Zeilen und speichern Sie erneut.</translation>
    </message>
    <message>
        <source>This change would leave no active administrator, so it was not made.</source>
        <translation>Nach dieser Änderung gäbe es keinen aktiven Administrator mehr, daher wurde sie nicht vorgenommen.</translation>
    </message>
    <message>
        <source>You cannot deactivate your own account.</source>
        <translation>Sie können Ihr eigenes Konto nicht deaktivieren.</translation>
    </message>
    <message>
        <source>This change takes away your own administrator role: you would lose access to the role editor.</source>
        <translation>Diese Änderung entzieht Ihnen Ihre eigene Administratorrolle: Sie würden den Zugriff auf den Rolleneditor verlieren.</translation>
    </message>
    <message>
        <source>This change has already ended (staged); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet (vorgemerkt); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>This change has already ended (running); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet (wird ausgeführt); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>This change has already ended (failed); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet (fehlgeschlagen); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>This change has already ended (cancelled); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet (abgebrochen); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>This change has already ended (done); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet (erledigt); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>This change has already ended ({state}); stage it again to apply it.</source>
        <translation>Diese Änderung ist bereits beendet ({state}); merken Sie sie erneut vor, um sie anzuwenden.</translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be renamed.</source>
        <translation>Die Rolle '{name}' ist integriert und kann nicht umbenannt werden.</translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be removed.</source>
        <translation>Die Rolle '{name}' ist integriert und kann nicht entfernt werden.</translation>
    </message>
    <message numerus="yes">
        <source>The role '{name}' is held by {n} account; give them another role first.</source>
        <comment>The role '{name}' is held by {n} accounts; give them another role first.</comment>
        <translation>
            <numerusform>Die Rolle '{name}' ist {n} Konto zugewiesen; weisen Sie ihm zuerst eine andere Rolle zu.</numerusform>
            <numerusform>Die Rolle '{name}' ist {n} Konten zugewiesen; weisen Sie ihnen zuerst eine andere Rolle zu.</numerusform>
        </translation>
    </message>
    <message>
        <source>A role named '{name}' already exists.</source>
        <translation>Es gibt bereits eine Rolle namens '{name}'.</translation>
    </message>
    <message>
        <source>An administrator account already exists. Sign in instead.</source>
        <translation>Es gibt bereits ein Administratorkonto. Melden Sie sich stattdessen an.</translation>
    </message>
    <message>
        <source>Self-registration is turned off. Ask an administrator to create your account.</source>
        <translation>Die Selbstregistrierung ist deaktiviert. Bitten Sie einen Administrator, Ihr Konto zu erstellen.</translation>
    </message>
    <message>
        <source>This would delete the last active administrator, so nothing was deleted. Make another account an administrator first.</source>
        <translation>Dadurch würde der letzte aktive Administrator gelöscht, daher wurde nichts gelöscht. Machen Sie zuerst ein anderes Konto zum Administrator.</translation>
    </message>
    <message>
        <source>Your own account is among those selected: you cannot delete it from here. Leave it out of the selection (Ctrl+click it).</source>
        <translation>Ihr eigenes Konto ist unter den ausgewählten: Sie können es hier nicht löschen. Nehmen Sie es aus der Auswahl heraus (Strg+Klick darauf).</translation>
    </message>
    <message numerus="yes">
        <source>Delete at most {limit} accounts at once ({n} is selected); nothing was deleted. Narrow the selection, for example with the filter.</source>
        <comment>Delete at most {limit} accounts at once ({n} are selected); nothing was deleted. Narrow the selection, for example with the filter.</comment>
        <translation>
            <numerusform>Löschen Sie höchstens {limit} Konten auf einmal ({n} ist ausgewählt); es wurde nichts gelöscht. Schränken Sie die Auswahl ein, zum Beispiel mit dem Filter.</numerusform>
            <numerusform>Löschen Sie höchstens {limit} Konten auf einmal ({n} sind ausgewählt); es wurde nichts gelöscht. Schränken Sie die Auswahl ein, zum Beispiel mit dem Filter.</numerusform>
        </translation>
    </message>
    <message>
        <source>That code is not valid for that address. If you have no recovery codes, ask an administrator.</source>
        <translation>Dieser Code ist für diese Adresse nicht gültig. Wenn Sie keine Wiederherstellungscodes haben, wenden Sie sich an einen Administrator.</translation>
    </message>
    <message>
        <source>You are the last active administrator, so your account cannot be deleted. Make someone else an administrator first.</source>
        <translation>Sie sind der letzte aktive Administrator, daher kann Ihr Konto nicht gelöscht werden. Machen Sie zuerst eine andere Person zum Administrator.</translation>
    </message>
    <message>
        <source>The file cannot be imported as it is; nothing was imported. Fix it and try again.</source>
        <translation>Die Datei kann so nicht importiert werden; es wurde nichts importiert. Korrigieren Sie sie und versuchen Sie es erneut.</translation>
    </message>
    <message numerus="yes">
        <source>{n} row of the file has problems; nothing was imported. Fix them and try again.</source>
        <comment>{n} rows of the file have problems; nothing was imported. Fix them and try again.</comment>
        <translation>
            <numerusform>{n} Zeile der Datei ist fehlerhaft; es wurde nichts importiert. Korrigieren Sie die Fehler und versuchen Sie es erneut.</numerusform>
            <numerusform>{n} Zeilen der Datei sind fehlerhaft; es wurde nichts importiert. Korrigieren Sie die Fehler und versuchen Sie es erneut.</numerusform>
        </translation>
    </message>
    <message>
        <source>Meanwhile someone else registered one of the addresses (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation>Inzwischen hat jemand anderes eine der Adressen (oder eine zum Verwechseln ähnliche) registriert; es wurde nichts importiert. Prüfen Sie die Datei erneut und entfernen Sie die Adresse.</translation>
    </message>
    <message>
        <source>Meanwhile someone else registered {emails} (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation>Inzwischen hat jemand anderes {emails} (oder eine zum Verwechseln ähnliche Adresse) registriert; es wurde nichts importiert. Prüfen Sie die Datei erneut und entfernen Sie die Adresse.</translation>
    </message>
    <message numerus="yes">
        <source>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <comment>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</comment>
        <translation>
            <numerusform>Inzwischen hat jemand anderes {emails} und {n} weitere Adresse (oder eine zum Verwechseln ähnliche) registriert; es wurde nichts importiert. Prüfen Sie die Datei erneut und entfernen Sie die Adressen.</numerusform>
            <numerusform>Inzwischen hat jemand anderes {emails} und {n} weitere Adressen (oder eine zum Verwechseln ähnliche) registriert; es wurde nichts importiert. Prüfen Sie die Datei erneut und entfernen Sie die Adressen.</numerusform>
        </translation>
    </message>
    <message>
        <source>The import was cancelled; nothing was imported.</source>
        <translation>Der Import wurde abgebrochen; es wurde nichts importiert.</translation>
    </message>
    <message>
        <source>Type the code from your authenticator app.</source>
        <translation>Geben Sie den Code aus Ihrer Authenticator-App ein.</translation>
    </message>
    <message>
        <source>Administrators of this organisation sign in with an authenticator app too: set one up to go on.</source>
        <translation>Administratoren dieser Organisation melden sich zusätzlich mit einer Authenticator-App an: Richten Sie eine ein, um fortzufahren.</translation>
    </message>
    <message>
        <source>That took too long: sign in again.</source>
        <translation>Das hat zu lange gedauert: Melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>This account uses two-factor sign-in: type the current code from its authenticator app too. If you lost it, ask an administrator.</source>
        <translation>Dieses Konto verwendet die Zwei-Faktor-Anmeldung: Geben Sie auch den aktuellen Code aus der zugehörigen Authenticator-App ein. Wenn Sie diese verloren haben, wenden Sie sich an einen Administrator.</translation>
    </message>
</context>
<context>
    <name>SettingsTab</name>
    <message>
        <source>Allow people to create their own accounts</source>
        <translation>Benutzern erlauben, eigene Konten anzulegen</translation>
    </message>
    <message>
        <source>Allow self-registration</source>
        <translation>Selbstregistrierung erlauben</translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation>Fehlgeschlagene Anmeldungen bis zur Sperre</translation>
    </message>
    <message>
        <source>First lockout in seconds</source>
        <translation>Erste Sperre in Sekunden</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Longest lockout in seconds</source>
        <translation>Längste Sperre in Sekunden</translation>
    </message>
    <message>
        <source>Idle sign-out in minutes</source>
        <translation>Abmeldung bei Inaktivität in Minuten</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>Temporary passwords expire after, in hours</source>
        <translation>Ablauf temporärer Passwörter in Stunden</translation>
    </message>
    <message>
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <source>How long a temporary password from a reset works; it must be changed at the next sign-in</source>
        <translation>Wie lange ein temporäres Passwort nach einem Zurücksetzen gültig ist; es muss bei der nächsten Anmeldung geändert werden</translation>
    </message>
    <message>
        <source>&amp;Require two-factor sign-in for administrators</source>
        <translation>&amp;Zwei-Faktor-Anmeldung für Administratoren verlangen</translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation>Zwei-Faktor-Anmeldung für Administratoren verlangen</translation>
    </message>
    <message>
        <source>Administrators then sign in with a code from an authenticator app too; one without it is taken to set it up right after the password. Set up your own first (Account window).</source>
        <translation>Administratoren melden sich dann zusätzlich mit einem Code aus einer Authenticator-App an; wer noch keine eingerichtet hat, wird direkt nach dem Passwort zur Einrichtung geführt. Richten Sie zuerst Ihre eigene ein (Fenster „Konto“).</translation>
    </message>
    <message>
        <source>Self-registration:</source>
        <translation>Selbstregistrierung:</translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation>Zwei-Faktor-Anmeldung:</translation>
    </message>
    <message>
        <source>Failed sign-ins before a &amp;lockout:</source>
        <translation>Fehlgeschlagene Anmeldungen bis zur &amp;Sperre:</translation>
    </message>
    <message>
        <source>&amp;First lockout:</source>
        <translation>&amp;Erste Sperre:</translation>
    </message>
    <message>
        <source>Lo&amp;ngest lockout:</source>
        <translation>&amp;Längste Sperre:</translation>
    </message>
    <message>
        <source>&amp;Idle sign-out after:</source>
        <translation>&amp;Abmeldung bei Inaktivität nach:</translation>
    </message>
    <message>
        <source>&amp;Temporary passwords expire after:</source>
        <translation>&amp;Temporäre Passwörter laufen ab nach:</translation>
    </message>
    <message>
        <source>Sa&amp;ve settings</source>
        <translation>Einstellungen spei&amp;chern</translation>
    </message>
    <message>
        <source>Save settings</source>
        <translation>Einstellungen speichern</translation>
    </message>
    <message>
        <source>These settings are stored in the database: every client of this database follows them.</source>
        <translation>Diese Einstellungen werden in der Datenbank gespeichert: Alle Clients dieser Datenbank halten sich daran.</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Gespeichert.</translation>
    </message>
</context>
<context>
    <name>SetupAdminDialog</name>
    <message>
        <source>Create the administrator account</source>
        <translation>Administratorkonto erstellen</translation>
    </message>
    <message>
        <source>This database has no administrator yet. The account you create here manages everyone else's.</source>
        <translation>Diese Datenbank hat noch keinen Administrator. Mit dem Konto, das Sie hier erstellen, verwalten Sie alle anderen.</translation>
    </message>
    <message>
        <source>&amp;Create administrator</source>
        <translation>Administrator &amp;erstellen</translation>
    </message>
    <message>
        <source>Create administrator</source>
        <translation>Administrator erstellen</translation>
    </message>
    <message>
        <source>What you typed to sign in is kept below.</source>
        <translation>Was Sie zur Anmeldung eingegeben haben, wurde unten übernommen.</translation>
    </message>
    <message>
        <source>Creating the administrator…</source>
        <translation>Administrator wird erstellt…</translation>
    </message>
    <message>
        <source>Your administrator account was created, but signing in failed: {reason}</source>
        <translation>Ihr Administratorkonto wurde erstellt, aber die Anmeldung ist fehlgeschlagen: {reason}</translation>
    </message>
</context>
<context>
    <name>SharedSettings</name>
    <message>
        <source>Self-registration</source>
        <translation>Selbstregistrierung</translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation>Fehlgeschlagene Anmeldungen vor einer Sperre</translation>
    </message>
    <message>
        <source>First lockout (seconds)</source>
        <translation>Erste Sperre (Sekunden)</translation>
    </message>
    <message>
        <source>Longest lockout (seconds)</source>
        <translation>Längste Sperre (Sekunden)</translation>
    </message>
    <message>
        <source>Idle sign-out (minutes)</source>
        <translation>Abmeldung bei Inaktivität (Minuten)</translation>
    </message>
    <message>
        <source>Temporary passwords expire after (hours)</source>
        <translation>Temporäre Passwörter laufen ab nach (Stunden)</translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation>Zwei-Faktor-Anmeldung für Administratoren verlangen</translation>
    </message>
    <message>
        <source>{setting} must be between {low} and {high}.</source>
        <translation>{setting} muss zwischen {low} und {high} liegen.</translation>
    </message>
    <message>
        <source>The longest lockout cannot be shorter than the first one.</source>
        <translation>Die längste Sperre darf nicht kürzer sein als die erste.</translation>
    </message>
    <message>
        <source>Set up two-factor sign-in for your own account first (Account window, Two-factor sign-in).</source>
        <translation>Richten Sie zuerst die Zwei-Faktor-Anmeldung für Ihr eigenes Konto ein (Fenster „Konto“, Zwei-Faktor-Anmeldung).</translation>
    </message>
    <message>
        <source>Unknown setting: {names}.</source>
        <translation>Unbekannte Einstellung: {names}.</translation>
    </message>
</context>
<context>
    <name>StartupErrorDialog</name>
    <message>
        <source>An operator upgrades the database schema with:</source>
        <translation>Ein Betreiber aktualisiert das Datenbankschema mit:</translation>
    </message>
    <message>
        <source>Install the version of desktop-auth that matches this database.</source>
        <translation>Installieren Sie die Version von desktop-auth, die zu dieser Datenbank passt.</translation>
    </message>
    <message>
        <source>Correct DATABASE_URL in the environment or the .env file (or the file DATABASE_URL_FILE names), for example:</source>
        <translation>Korrigieren Sie DATABASE_URL in der Umgebung oder in der .env-Datei (oder in der Datei, die DATABASE_URL_FILE angibt), zum Beispiel:</translation>
    </message>
    <message>
        <source>Correct that setting in the environment or the .env file (see .env.example), then retry.</source>
        <translation>Korrigieren Sie diese Einstellung in der Umgebung oder in der .env-Datei (siehe .env.example) und versuchen Sie es dann erneut.</translation>
    </message>
    <message>
        <source>Check that the database server is running and reachable, then retry. To test it:</source>
        <translation>Prüfen Sie, ob der Datenbankserver läuft und erreichbar ist, und versuchen Sie es dann erneut. Zum Testen:</translation>
    </message>
    <message>
        <source>Retry; if it happens again, the log file has the details.</source>
        <translation>Versuchen Sie es erneut; wenn der Fehler wieder auftritt, finden Sie die Details in der Protokolldatei.</translation>
    </message>
    <message>
        <source>Cannot open the database</source>
        <translation>Die Datenbank kann nicht geöffnet werden</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Wiederholen</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Wiederholen</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
</context>
<context>
    <name>StrengthMeter</name>
    <message>
        <source>Very weak</source>
        <translation>Sehr schwach</translation>
    </message>
    <message>
        <source>Weak</source>
        <translation>Schwach</translation>
    </message>
    <message>
        <source>Fair</source>
        <translation>Mittel</translation>
    </message>
    <message>
        <source>Strong</source>
        <translation>Stark</translation>
    </message>
    <message>
        <source>Very strong</source>
        <translation>Sehr stark</translation>
    </message>
    <message>
        <source>Password strength</source>
        <translation>Passwortstärke</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordDialog</name>
    <message>
        <source>Reset the password of {email}?</source>
        <translation>Passwort von {email} zurücksetzen?</translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account?</source>
        <comment>Reset the passwords of {n} accounts?</comment>
        <translation>
            <numerusform>Passwort von {n} Konto zurücksetzen?</numerusform>
            <numerusform>Passwörter von {n} Konten zurücksetzen?</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset password</source>
        <translation>Passwort zurücksetzen</translation>
    </message>
    <message>
        <source>&amp;Reset passwords</source>
        <translation>Passwörter &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation>Passwort &amp;zurücksetzen</translation>
    </message>
    <message>
        <source>Reset the passwords</source>
        <translation>Die Passwörter zurücksetzen</translation>
    </message>
    <message>
        <source>Reset the password</source>
        <translation>Das Passwort zurücksetzen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message numerus="yes">
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hour.</source>
        <comment>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hours.</comment>
        <translation>
            <numerusform>Jedes Konto erhält ein eigenes zufälliges temporäres Passwort, das Ihnen nach dem Zurücksetzen einmalig hier angezeigt wird. Die bisherigen Passwörter sind sofort ungültig. Die neuen müssen bei der nächsten Anmeldung geändert werden und laufen nach {n} Stunde ab.</numerusform>
            <numerusform>Jedes Konto erhält ein eigenes zufälliges temporäres Passwort, das Ihnen nach dem Zurücksetzen einmalig hier angezeigt wird. Die bisherigen Passwörter sind sofort ungültig. Die neuen müssen bei der nächsten Anmeldung geändert werden und laufen nach {n} Stunden ab.</numerusform>
        </translation>
    </message>
    <message>
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after the time set in Settings.</source>
        <translation>Jedes Konto erhält ein eigenes zufälliges temporäres Passwort, das Ihnen nach dem Zurücksetzen einmalig hier angezeigt wird. Die bisherigen Passwörter sind sofort ungültig. Die neuen müssen bei der nächsten Anmeldung geändert werden und laufen nach der in den Einstellungen festgelegten Zeit ab.</translation>
    </message>
    <message numerus="yes">
        <source>Resetting {n} password…</source>
        <comment>Resetting {n} passwords…</comment>
        <translation>
            <numerusform>{n} Passwort wird zurückgesetzt…</numerusform>
            <numerusform>{n} Passwörter werden zurückgesetzt…</numerusform>
        </translation>
    </message>
    <message>
        <source>Temporary passwords</source>
        <translation>Temporäre Passwörter</translation>
    </message>
    <message>
        <source>Give each person their own password; they expire at {expires}. They are shown only now: copy or export them before you close this window.</source>
        <translation>Geben Sie jeder Person ihr eigenes Passwort; die Passwörter sind gültig bis {expires}. Sie werden nur jetzt angezeigt: Kopieren oder exportieren Sie sie, bevor Sie dieses Fenster schließen.</translation>
    </message>
    <message>
        <source>&amp;Passwords:</source>
        <translation>&amp;Passwörter:</translation>
    </message>
    <message>
        <source>Copy &amp;all</source>
        <translation>&amp;Alle kopieren</translation>
    </message>
    <message>
        <source>Copy all passwords</source>
        <translation>Alle Passwörter kopieren</translation>
    </message>
    <message>
        <source>&amp;Copy selected</source>
        <translation>Ausgewählte &amp;kopieren</translation>
    </message>
    <message>
        <source>Copy the selected passwords</source>
        <translation>Die ausgewählten Passwörter kopieren</translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation>&amp;Exportieren…</translation>
    </message>
    <message>
        <source>Export the passwords to a file</source>
        <translation>Die Passwörter in eine Datei exportieren</translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>&amp;Schließen</translation>
    </message>
    <message>
        <source>Close and forget the passwords</source>
        <translation>Schließen und die Passwörter verwerfen</translation>
    </message>
    <message numerus="yes">
        <source>Copied {n} password.</source>
        <comment>Copied {n} passwords.</comment>
        <translation>
            <numerusform>{n} Passwort kopiert.</numerusform>
            <numerusform>{n} Passwörter kopiert.</numerusform>
        </translation>
    </message>
    <message>
        <source>Export temporary passwords</source>
        <translation>Temporäre Passwörter exportieren</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>CSV-Dateien</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>Wird exportiert…</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} password to {path} (readable only by you).</source>
        <comment>Exported {n} passwords to {path} (readable only by you).</comment>
        <translation>
            <numerusform>{n} Passwort nach {path} exportiert (nur für Sie lesbar).</numerusform>
            <numerusform>{n} Passwörter nach {path} exportiert (nur für Sie lesbar).</numerusform>
        </translation>
    </message>
    <message>
        <source>None of the passwords were copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <translation>Keines der Passwörter wurde kopiert oder exportiert. Sie werden nicht erneut angezeigt: Diese Konten müssen erneut zurückgesetzt werden, bevor sich jemand bei ihnen anmelden kann.</translation>
    </message>
    <message numerus="yes">
        <source>{unkept} of {n} passwords were not copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <comment>{unkept} of {n} passwords were not copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</comment>
        <translation>
            <numerusform>{unkept} von {n} Passwort wurde weder kopiert noch exportiert. Es wird nicht erneut angezeigt: Dieses Konto muss erneut zurückgesetzt werden, bevor sich jemand bei ihm anmelden kann.</numerusform>
            <numerusform>{unkept} von {n} Passwörtern wurden weder kopiert noch exportiert. Sie werden nicht erneut angezeigt: Diese Konten müssen erneut zurückgesetzt werden, bevor sich jemand bei ihnen anmelden kann.</numerusform>
        </translation>
    </message>
    <message>
        <source>Close without copying?</source>
        <translation>Schließen, ohne zu kopieren?</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordModel</name>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Temporary password</source>
        <translation>Temporäres Passwort</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswords</name>
    <message>
        <source>The password policy allows at most {limit} characters, too few for a safe temporary password ({needed}). Raise DESKTOP_AUTH_PASSWORD_MAX_LENGTH.</source>
        <translation>Die Passwortrichtlinie erlaubt höchstens {limit} Zeichen, zu wenig für ein sicheres temporäres Passwort ({needed}). Erhöhen Sie DESKTOP_AUTH_PASSWORD_MAX_LENGTH.</translation>
    </message>
    <message>
        <source>Could not write {path}: {reason}.</source>
        <translation>{path} konnte nicht geschrieben werden: {reason}.</translation>
    </message>
</context>
<context>
    <name>TotpCodeDialog</name>
    <message>
        <source>Two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung</translation>
    </message>
    <message>
        <source>Type the code your authenticator app shows for {email}. Lost your phone? Type one of your recovery codes instead.</source>
        <translation>Geben Sie den Code ein, den Ihre Authenticator-App für {email} anzeigt. Telefon verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.</translation>
    </message>
    <message numerus="yes">
        <source>{n} digit, or a recovery code</source>
        <comment>{n} digits, or a recovery code</comment>
        <translation>
            <numerusform>{n} Ziffer oder ein Wiederherstellungscode</numerusform>
            <numerusform>{n} Ziffern oder ein Wiederherstellungscode</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Code:</source>
        <translation>&amp;Code:</translation>
    </message>
    <message>
        <source>&amp;Verify</source>
        <translation>&amp;Bestätigen</translation>
    </message>
    <message>
        <source>Verify the code</source>
        <translation>Code bestätigen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Cancel and go back to the sign-in form</source>
        <translation>Abbrechen und zum Anmeldeformular zurückkehren</translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows, or a recovery code.</source>
        <translation>Geben Sie den Code ein, den Ihre Authenticator-App anzeigt, oder einen Wiederherstellungscode.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>Code wird geprüft…</translation>
    </message>
</context>
<context>
    <name>TwoFactor</name>
    <message>
        <source>A stored two-factor secret has an unknown format.</source>
        <translation>Ein gespeichertes Zwei-Faktor-Geheimnis hat ein unbekanntes Format.</translation>
    </message>
    <message>
        <source>Two-factor secrets in this database are encrypted: set DESKTOP_AUTH_TOTP_KEY to the organisation's key on this computer.</source>
        <translation>Die Zwei-Faktor-Geheimnisse in dieser Datenbank sind verschlüsselt: Setzen Sie DESKTOP_AUTH_TOTP_KEY auf diesem Computer auf den Schlüssel der Organisation.</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY on this computer is not the key these two-factor secrets were encrypted with.</source>
        <translation>DESKTOP_AUTH_TOTP_KEY auf diesem Computer ist nicht der Schlüssel, mit dem diese Zwei-Faktor-Geheimnisse verschlüsselt wurden.</translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right).</source>
        <translation>Dieser Code ist nicht richtig. Geben Sie den neuesten Code ein, den Ihre Authenticator-App anzeigt (jeder Code funktioniert nur einmal, und die Uhr des Telefons muss richtig gehen).</translation>
    </message>
    <message>
        <source>Two-factor sign-in is already on for this account.</source>
        <translation>Die Zwei-Faktor-Anmeldung ist für dieses Konto bereits eingeschaltet.</translation>
    </message>
    <message>
        <source>Your password was changed meanwhile; sign in again.</source>
        <translation>Ihr Passwort wurde inzwischen geändert; melden Sie sich erneut an.</translation>
    </message>
    <message>
        <source>That is not a secret this app made; start again.</source>
        <translation>Dies ist kein Geheimnis, das diese App erstellt hat; beginnen Sie von vorn.</translation>
    </message>
    <message>
        <source>Two-factor sign-in is not on for this account.</source>
        <translation>Die Zwei-Faktor-Anmeldung ist für dieses Konto nicht eingeschaltet.</translation>
    </message>
    <message>
        <source>There is no account '{email}'.</source>
        <translation>Es gibt kein Konto '{email}'.</translation>
    </message>
    <message>
        <source>{email} has no two-factor sign-in to reset.</source>
        <translation>{email} hat keine Zwei-Faktor-Anmeldung, die zurückgesetzt werden könnte.</translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile (password or two-factor); try again.</source>
        <translation>Ihr Konto wurde inzwischen an anderer Stelle geändert (Passwort oder Zwei-Faktor-Anmeldung); versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>This organisation requires two-factor sign-in of administrators: it cannot be turned off. To move it to a new phone, turn it on again after an administrator resets it.</source>
        <translation>Diese Organisation verlangt die Zwei-Faktor-Anmeldung für Administratoren: Sie kann nicht ausgeschaltet werden. Um sie auf ein neues Telefon zu übertragen, schalten Sie sie erneut ein, nachdem ein Administrator sie zurückgesetzt hat.</translation>
    </message>
</context>
<context>
    <name>TwoFactorOffDialog</name>
    <message>
        <source>Turn off two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung ausschalten</translation>
    </message>
    <message>
        <source>Signing in will ask for your password only. Type your current password and the code your authenticator app shows.</source>
        <translation>Bei der Anmeldung wird dann nur noch Ihr Passwort abgefragt. Geben Sie Ihr aktuelles Passwort und den Code ein, den Ihre Authenticator-App anzeigt.</translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation>&amp;Code aus der App:</translation>
    </message>
    <message>
        <source>&amp;Turn off</source>
        <translation>&amp;Ausschalten</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Turning it off…</source>
        <translation>Wird ausgeschaltet…</translation>
    </message>
</context>
<context>
    <name>TwoFactorSetupDialog</name>
    <message>
        <source>Your organisation requires administrators to sign in with an authenticator app too. Set it up now: scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation>Ihre Organisation verlangt, dass sich Administratoren zusätzlich mit einer Authenticator-App anmelden. Richten Sie sie jetzt ein: Scannen Sie den QR-Code mit der App (oder geben Sie den geheimen Schlüssel dort ein) und geben Sie dann den angezeigten Code ein.</translation>
    </message>
    <message>
        <source>After your password, signing in will also ask for a code from an authenticator app on your phone. Scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation>Nach Ihrem Passwort wird bei der Anmeldung zusätzlich ein Code aus einer Authenticator-App auf Ihrem Telefon abgefragt. Scannen Sie den QR-Code mit der App (oder geben Sie den geheimen Schlüssel dort ein) und geben Sie dann den angezeigten Code ein.</translation>
    </message>
    <message>
        <source>Set up two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung einrichten</translation>
    </message>
    <message>
        <source>QR code for your authenticator app</source>
        <translation>QR-Code für Ihre Authenticator-App</translation>
    </message>
    <message>
        <source>If you cannot scan it, type the secret key below into the app.</source>
        <translation>Wenn Sie ihn nicht scannen können, geben Sie den unten stehenden geheimen Schlüssel in der App ein.</translation>
    </message>
    <message>
        <source>Secret key</source>
        <translation>Geheimer Schlüssel</translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation>Ko&amp;pieren</translation>
    </message>
    <message>
        <source>Copy the secret key</source>
        <translation>Den geheimen Schlüssel kopieren</translation>
    </message>
    <message>
        <source>&amp;Secret key:</source>
        <translation>&amp;Geheimer Schlüssel:</translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation>&amp;Code aus der App:</translation>
    </message>
    <message>
        <source>&amp;Turn on</source>
        <translation>&amp;Einschalten</translation>
    </message>
    <message>
        <source>Turn on two-factor sign-in</source>
        <translation>Zwei-Faktor-Anmeldung einschalten</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Making a new secret key…</source>
        <translation>Neuer geheimer Schlüssel wird erstellt…</translation>
    </message>
    <message>
        <source>Copied the secret key.</source>
        <translation>Geheimer Schlüssel kopiert.</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>Geben Sie Ihr aktuelles Passwort ein.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>Code wird geprüft…</translation>
    </message>
</context>
<context>
    <name>UnfinishedBar</name>
    <message>
        <source>Res&amp;ume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
    <message>
        <source>Resume the unfinished change</source>
        <translation>Nicht abgeschlossene Änderung fortsetzen</translation>
    </message>
    <message>
        <source>S&amp;top it</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>Stop the unfinished change where it is</source>
        <translation>Nicht abgeschlossene Änderung an der aktuellen Stelle anhalten</translation>
    </message>
    <message numerus="yes">
        <source>An unfinished change ({change}) has reached {done} of {n} user.</source>
        <comment>An unfinished change ({change}) has reached {done} of {n} users.</comment>
        <translation>
            <numerusform>Eine nicht abgeschlossene Änderung ({change}) hat {done} von {n} Benutzer erreicht.</numerusform>
            <numerusform>Eine nicht abgeschlossene Änderung ({change}) hat {done} von {n} Benutzern erreicht.</numerusform>
        </translation>
    </message>
    <message>
        <source>{reached} It stopped: {reason}</source>
        <translation>{reached} Sie wurde angehalten: {reason}</translation>
    </message>
</context>
<context>
    <name>UserImport</name>
    <message numerus="yes">
        <source>the same address as lines {lines} and {n} more</source>
        <comment>the same address as lines {lines} and {n} more</comment>
        <translation>
            <numerusform>dieselbe Adresse wie in den Zeilen {lines} und {n} weiteren</numerusform>
            <numerusform>dieselbe Adresse wie in den Zeilen {lines} und {n} weiteren</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>the same address as line {lines}</source>
        <comment>the same address as lines {lines}</comment>
        <translation>
            <numerusform>dieselbe Adresse wie in Zeile {lines}</numerusform>
            <numerusform>dieselbe Adresse wie in den Zeilen {lines}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>looks like {address} on lines {lines} and {n} more</source>
        <comment>looks like {address} on lines {lines} and {n} more</comment>
        <translation>
            <numerusform>ähnelt {address} in den Zeilen {lines} und {n} weiteren</numerusform>
            <numerusform>ähnelt {address} in den Zeilen {lines} und {n} weiteren</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>looks like {address} on line {lines}</source>
        <comment>looks like {address} on lines {lines}</comment>
        <translation>
            <numerusform>ähnelt {address} in Zeile {lines}</numerusform>
            <numerusform>ähnelt {address} in den Zeilen {lines}</numerusform>
        </translation>
    </message>
    <message>
        <source>line {line}: the file is not UTF-8 text (byte {byte}); save it as UTF-8</source>
        <translation>Zeile {line}: Die Datei ist kein UTF-8-Text (Byte {byte}); speichern Sie sie als UTF-8</translation>
    </message>
    <message>
        <source>the address is {length} characters long (at most {limit})</source>
        <translation>die Adresse ist {length} Zeichen lang (höchstens {limit})</translation>
    </message>
    <message>
        <source>the role is {length} characters long (at most {limit})</source>
        <translation>die Rolle ist {length} Zeichen lang (höchstens {limit})</translation>
    </message>
    <message>
        <source>the address starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation>die Adresse beginnt mit '{start}', was eine Tabellenkalkulation als Formel ausführen würde</translation>
    </message>
    <message>
        <source>the role starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation>die Rolle beginnt mit '{start}', was eine Tabellenkalkulation als Formel ausführen würde</translation>
    </message>
    <message>
        <source>the address contains an invisible or control character ({characters})</source>
        <translation>die Adresse enthält ein unsichtbares oder ein Steuerzeichen ({characters})</translation>
    </message>
    <message>
        <source>the role contains an invisible or control character ({characters})</source>
        <translation>die Rolle enthält ein unsichtbares oder ein Steuerzeichen ({characters})</translation>
    </message>
    <message>
        <source>line 1: the first line must name the columns: email,role (or email;role, or email); found '{found}'</source>
        <translation>Zeile 1: Die erste Zeile muss die Spalten benennen: email,role (oder email;role oder email); gefunden: '{found}'</translation>
    </message>
    <message>
        <source>line {line}: the file has more than {limit} rows; import at most {limit} at once (split the file)</source>
        <translation>Zeile {line}: Die Datei hat mehr als {limit} Zeilen; importieren Sie höchstens {limit} auf einmal (teilen Sie die Datei auf)</translation>
    </message>
    <message>
        <source>line {line}: the file is not valid CSV ({detail})</source>
        <translation>Zeile {line}: Die Datei ist keine gültige CSV-Datei ({detail})</translation>
    </message>
    <message numerus="yes">
        <source>expected {n} cell ({columns}), found {found}</source>
        <comment>expected {n} cells ({columns}), found {found}</comment>
        <translation>
            <numerusform>{n} Zelle erwartet ({columns}), {found} gefunden</numerusform>
            <numerusform>{n} Zellen erwartet ({columns}), {found} gefunden</numerusform>
        </translation>
    </message>
    <message>
        <source>no address</source>
        <translation>keine Adresse</translation>
    </message>
    <message>
        <source>invalid address: {reason}</source>
        <translation>ungültige Adresse: {reason}</translation>
    </message>
    <message>
        <source>unknown role '{role}'</source>
        <translation>unbekannte Rolle '{role}'</translation>
    </message>
    <message>
        <source>an account with this address already exists</source>
        <translation>ein Konto mit dieser Adresse existiert bereits</translation>
    </message>
    <message>
        <source>looks too much like the existing account {address}</source>
        <translation>ähnelt zu sehr dem bestehenden Konto {address}</translation>
    </message>
    <message>
        <source>Could not read {path}: {reason}.</source>
        <translation>{path} konnte nicht gelesen werden: {reason}.</translation>
    </message>
    <message>
        <source>line 1: the file is larger than {megabytes} MB; import at most {limit} rows at once (split the file)</source>
        <translation>Zeile 1: Die Datei ist größer als {megabytes} MB; importieren Sie höchstens {limit} Zeilen auf einmal (teilen Sie die Datei auf)</translation>
    </message>
    <message>
        <source>line {line}: the file has no rows to import</source>
        <translation>Zeile {line}: Die Datei enthält keine Zeilen zum Importieren</translation>
    </message>
    <message>
        <source>The file has no rows to import.</source>
        <translation>Die Datei enthält keine Zeilen zum Importieren.</translation>
    </message>
    <message>
        <source>A role of the file was removed meanwhile; nothing was imported.</source>
        <translation>Eine Rolle aus der Datei wurde inzwischen entfernt; es wurde nichts importiert.</translation>
    </message>
    <message>
        <source>There is no role named '{role}' (removed meanwhile); nothing was imported.</source>
        <translation>Es gibt keine Rolle namens '{role}' (inzwischen entfernt); es wurde nichts importiert.</translation>
    </message>
</context>
<context>
    <name>UserTable</name>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rolle</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>Aktiv</translation>
    </message>
    <message>
        <source>Locked until</source>
        <translation>Gesperrt bis</translation>
    </message>
    <message>
        <source>Last sign-in</source>
        <translation>Letzte Anmeldung</translation>
    </message>
    <message>
        <source>Sign-ins</source>
        <translation>Anmeldungen</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Erstellt</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>Aktualisiert</translation>
    </message>
    <message>
        <source>Must change password</source>
        <translation>Passwortänderung erforderlich</translation>
    </message>
    <message>
        <source>Temporary password expires</source>
        <translation>Temporäres Passwort läuft ab</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>Wiederherstellungscodes</translation>
    </message>
    <message>
        <source>2FA</source>
        <translation>2FA</translation>
    </message>
    <message>
        <source>Must change
password</source>
        <translation>Passwortänderung
erforderlich</translation>
    </message>
    <message>
        <source>Temporary password
expires</source>
        <translation>Temporäres Passwort
läuft ab</translation>
    </message>
    <message>
        <source>Recovery
codes</source>
        <translation>Wiederherstellungs-
codes</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <source>expired</source>
        <translation>abgelaufen</translation>
    </message>
    <message>
        <source>on</source>
        <translation>ein</translation>
    </message>
    <message>
        <source>off</source>
        <translation>aus</translation>
    </message>
    <message>
        <source>must change password</source>
        <translation>muss Passwort ändern</translation>
    </message>
    <message>
        <source>need not change password</source>
        <translation>muss Passwort nicht ändern</translation>
    </message>
    <message>
        <source>no temporary password</source>
        <translation>kein temporäres Passwort</translation>
    </message>
    <message>
        <source>temporary password expired</source>
        <translation>temporäres Passwort abgelaufen</translation>
    </message>
    <message>
        <source>temporary password expires {moment}</source>
        <translation>temporäres Passwort läuft ab: {moment}</translation>
    </message>
    <message>
        <source>no recovery codes left</source>
        <translation>keine Wiederherstellungscodes mehr übrig</translation>
    </message>
    <message numerus="yes">
        <source>{n} recovery code left</source>
        <comment>{n} recovery codes left</comment>
        <translation>
            <numerusform>{n} Wiederherstellungscode übrig</numerusform>
            <numerusform>{n} Wiederherstellungscodes übrig</numerusform>
        </translation>
    </message>
    <message>
        <source>two-factor on</source>
        <translation>Zwei-Faktor-Anmeldung ein</translation>
    </message>
    <message>
        <source>two-factor off</source>
        <translation>Zwei-Faktor-Anmeldung aus</translation>
    </message>
</context>
<context>
    <name>UserTableView</name>
    <message>
        <source>Users</source>
        <translation>Benutzer</translation>
    </message>
</context>
<context>
    <name>UsersTab</name>
    <message>
        <source>&amp;Revert</source>
        <translation>&amp;Verwerfen</translation>
    </message>
    <message>
        <source>Revert unsaved changes</source>
        <translation>Nicht gespeicherte Änderungen verwerfen</translation>
    </message>
    <message>
        <source>Sa&amp;ve</source>
        <translation>&amp;Speichern</translation>
    </message>
    <message>
        <source>Save changes</source>
        <translation>Änderungen speichern</translation>
    </message>
    <message>
        <source>Loading</source>
        <translation>Wird geladen</translation>
    </message>
    <message>
        <source>Counting users…</source>
        <translation>Benutzer werden gezählt…</translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation>
            <numerusform>{n} Benutzer</numerusform>
            <numerusform>{n} Benutzer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} selected</source>
        <comment>{n} selected</comment>
        <translation>
            <numerusform>{n} ausgewählt</numerusform>
            <numerusform>{n} ausgewählt</numerusform>
        </translation>
    </message>
    <message>
        <source>Choosing the selected users…</source>
        <translation>Ausgewählte Benutzer werden ermittelt…</translation>
    </message>
    <message>
        <source>unsaved: {change}</source>
        <translation>nicht gespeichert: {change}</translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved change (marked)</source>
        <comment>{n} unsaved changes (marked)</comment>
        <translation>
            <numerusform>{n} nicht gespeicherte Änderung (markiert)</numerusform>
            <numerusform>{n} nicht gespeicherte Änderungen (markiert)</numerusform>
        </translation>
    </message>
    <message>
        <source>{old} → {new}</source>
        <translation>{old} → {new}</translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved role change now names the renamed role ({renames}).</source>
        <comment>{n} unsaved role changes now name the renamed role ({renames}).</comment>
        <translation>
            <numerusform>{n} nicht gespeicherte Rollenänderung verweist jetzt auf die umbenannte Rolle ({renames}).</numerusform>
            <numerusform>{n} nicht gespeicherte Rollenänderungen verweisen jetzt auf die umbenannte Rolle ({renames}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped {n} unsaved role change: the role is gone ({roles}).</source>
        <comment>Dropped {n} unsaved role changes: the role is gone ({roles}).</comment>
        <translation>
            <numerusform>{n} nicht gespeicherte Rollenänderung verworfen: Die Rolle existiert nicht mehr ({roles}).</numerusform>
            <numerusform>{n} nicht gespeicherte Rollenänderungen verworfen: Die Rolle existiert nicht mehr ({roles}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped the unsaved change for {n} selected user: its role {role} is gone.</source>
        <comment>Dropped the unsaved change for {n} selected users: its role {role} is gone.</comment>
        <translation>
            <numerusform>Nicht gespeicherte Änderung für {n} ausgewählten Benutzer verworfen: Die Rolle {role} existiert nicht mehr.</numerusform>
            <numerusform>Nicht gespeicherte Änderung für {n} ausgewählte Benutzer verworfen: Die Rolle {role} existiert nicht mehr.</numerusform>
        </translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation>Eigene Administratorrolle entfernen?</translation>
    </message>
    <message>
        <source>You are about to take away your own administrator role. You will lose access to this window.</source>
        <translation>Sie sind im Begriff, sich selbst die Administratorrolle zu entziehen. Sie verlieren dann den Zugriff auf dieses Fenster.</translation>
    </message>
    <message numerus="yes">
        <source>Saved changes to {n} user.</source>
        <comment>Saved changes to {n} users.</comment>
        <translation>
            <numerusform>Änderungen an {n} Benutzer gespeichert.</numerusform>
            <numerusform>Änderungen an {n} Benutzern gespeichert.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>fields</name>
    <message>
        <source>The passwords do not match.</source>
        <translation>Die Passwörter stimmen nicht überein.</translation>
    </message>
    <message>
        <source>Email address</source>
        <translation>E-Mail-Adresse</translation>
    </message>
    <message>
        <source>name@example.com</source>
        <translation>name@example.com</translation>
    </message>
</context>
<context>
    <name>help</name>
    <message>
        <source>Help</source>
        <translation>Hilfe</translation>
    </message>
    <message>
        <source>{title} — desktop-auth help</source>
        <translation>{title} — Hilfe zu desktop-auth</translation>
    </message>
</context>
<context>
    <name>messages</name>
    <message>
        <source>Something unexpected went wrong. The details are in the log file; please try again.</source>
        <translation>Etwas Unerwartetes ist schiefgegangen. Die Details stehen in der Protokolldatei; bitte versuchen Sie es erneut.</translation>
    </message>
</context>
<context>
    <name>totp_code</name>
    <message>
        <source>Authenticator code</source>
        <translation>Authenticator-Code</translation>
    </message>
    <message numerus="yes">
        <source>{n} digit</source>
        <comment>{n} digits</comment>
        <translation>
            <numerusform>{n} Ziffer</numerusform>
            <numerusform>{n} Ziffern</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows.</source>
        <translation>Geben Sie den Code ein, den Ihre Authenticator-App anzeigt.</translation>
    </message>
    <message numerus="yes">
        <source>A code is {n} digit, like 123 456.</source>
        <comment>A code is {n} digits, like 123 456.</comment>
        <translation>
            <numerusform>Ein Code hat {n} Ziffer, z. B. 123 456.</numerusform>
            <numerusform>Ein Code hat {n} Ziffern, z. B. 123 456.</numerusform>
        </translation>
    </message>
</context>
</TS>

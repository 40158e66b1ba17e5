<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About desktop-auth</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A desktop account manager.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Database:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Licence:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AccountWindow</name>
    <message>
        <source>This is your first sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up with Two-factor sign-in… (Alt+T) to go on administering.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{email} — desktop-auth</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You are signed in.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Email:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last sign-in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Change password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change &amp;email…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change email address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete your account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Role editor…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the role editor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help for this window (F1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About desktop-auth</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign &amp;out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recover&amp;y codes…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Two-factor sign-in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signed in as {email}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>You were signed out after {n} minute without activity.</source>
        <comment>You were signed out after {n} minutes without activity.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>{action} ({keys})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The DESKTOP_AUTH_LANGUAGE environment variable decides the language for now: your choice applies once it is unset.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your session ended.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your password was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in (on)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in (off)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: turn it off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: turn it on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: signing in asks for your password only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery code.</source>
        <comment>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery codes.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. No recovery codes were made: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your email address is now {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account {email} was deleted.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Accounts</name>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right). A recovery code works once too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This sign-in needs the other second step; sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account no longer exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account has been deactivated.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your password was changed elsewhere. Sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new password must differ from the current one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ActionBar</name>
    <message>
        <source>Role for the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set r&amp;ole</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set role of the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activate the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deactivate the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U&amp;nlock</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlock the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset &amp;password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the password of the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset &amp;2FA…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of the selected user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the selected user's two-factor sign-in (one user at a time, with two-factor on)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dele&amp;te…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the selected users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Create user…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create a user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the users to CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Selected users:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Admin</name>
    <message>
        <source>No account has the email address {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each account may appear only once in one save.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</source>
        <comment>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Your own password cannot be reset here; use Change password instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The built-in role 'admin' is missing; run: desktop-auth db upgrade</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up in your account window first.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Your account is ready. Sign in below.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Audit</name>
    <message>
        <source>Account created with the role {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role changed from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account activated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account deactivated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the email address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong current password typed while deleting the account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password reset to a temporary password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password reset to a temporary password that expires {moment}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign-in locked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign-in locked until {moment}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlocked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed sign-in attempts forgotten</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“{setting}” changed from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role removed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role renamed from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role description cleared</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role description set to “{description}”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users started: {change}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported accounts from a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported {count} accounts from a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account from a CSV file</source>
        <comment>Imported {n} accounts from a CSV file</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Reset own password with a recovery code</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Reset own password with a recovery code ({n} left)</source>
        <comment>Reset own password with a recovery code ({n} left)</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Signed in with a recovery code instead of the authenticator</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Signed in with a recovery code instead of the authenticator ({n} left)</source>
        <comment>Signed in with a recovery code instead of the authenticator ({n} left)</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in turned on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong current password typed while turning on two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in turned off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong password or code typed while turning off two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong or reused authenticator code at sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in removed by an administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Address of {address} erased from the history entries</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Address of {address} erased from {n} history entry</source>
        <comment>Address of {address} erased from {n} history entries</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>{action}: {old} → {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changed email from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Email address changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted own account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted own account, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted own account #{number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted own account #{number}, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account with the role {role}, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account with the role {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account #{number}, was {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted account #{number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users finished: {result}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change of many users finished: changed {changed}, left alone {left}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New recovery codes made; the earlier ones no longer work</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New recovery codes made</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made; the earlier ones no longer work</source>
        <comment>{n} new recovery codes made; the earlier ones no longer work</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made</source>
        <comment>{n} new recovery codes made</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkChange</name>
    <message>
        <source>Choose a role or whether the accounts are active.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no bulk change #{id}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>role → {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>role → {role}, activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>role → {role}, deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>No change for {n} selected user</source>
        <comment>No change for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>activate for {n} selected user</source>
        <comment>activate for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>deactivate for {n} selected user</source>
        <comment>deactivate for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role} for {n} selected user</source>
        <comment>role → {role} for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, activate for {n} selected user</source>
        <comment>role → {role}, activate for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, deactivate for {n} selected user</source>
        <comment>role → {role}, deactivate for {n} selected users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkFlow</name>
    <message numerus="yes">
        <source>Stopped: changed {n} user of {total}; the others are as they were.</source>
        <comment>Stopped: changed {n} users of {total}; the others are as they were.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Changed {n} user ({change}).</source>
        <comment>Changed {n} users ({change}).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{emails} and {n} more</source>
        <comment>{emails} and {n} more</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} user was left alone because someone else changed them after you selected them: {emails}. Review them and try again.</source>
        <comment>{n} users were left alone because someone else changed them after you selected them: {emails}. Review them and try again.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Save or revert the unsaved change ({change}) before changing other users.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None of the selected users is there any more.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Applying {change} to {n} user…</source>
        <comment>Applying {change} to {n} users…</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change takes away your own administrator role. You will lose access to this window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping after the users being changed now…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangeEmailDialog</name>
    <message>
        <source>Change email address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You sign in as {email}. Enter the new address and your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New email address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New &amp;email:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Change email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the new email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changing your email address…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>An administrator set a temporary password. Choose your own before you continue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password, then the new one twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changing your password…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Config</name>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY is not a key: it must be 32 random bytes in url-safe base64 (44 characters), as `desktop-auth 2fa new-key` prints</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is not a werkzeug method (expected e.g. 'scrypt:131072:8:1' or 'pbkdf2:sha256:600000')</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is weaker than the minimum this app accepts (scrypt:131072:8:1, or pbkdf2:sha256:600000 which is as strong); choose a stronger method</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} must be at least {minimum}, got {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} must be at most {maximum}, got {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}': scrypt's N must be a power of two</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} names '{path}', which does not exist</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} names '{path}', which is not UTF-8 text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} names '{path}', which cannot be read ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} names '{path}', whose first line is empty; it should hold the database URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} must be 1 or 0, got '{value}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} must be a whole number, got '{value}'</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CreateUserDialog</name>
    <message>
        <source>Create user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The account gets a random temporary password, shown to you once here. The person must change it at their first sign-in.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Email address:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Role:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Create user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter an email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{email} can sign in with this temporary password until {expires} and must then choose their own. It is shown only now: copy it before you close this window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary password for {email}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary &amp;password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;opy password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the temporary password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close and forget the password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User created: {email}. The temporary password is shown once.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied the temporary password.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DatabaseErrors</name>
    <message>
        <source>DATABASE_URL '{url}' cannot be used: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is busy with another client; please try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server signs in with caching_sha2_password or sha256_password, which needs the 'cryptography' package; reinstall desktop-auth (it depends on PyMySQL[rsa])</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): connect to a host name or address that the server's certificate lists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): check that ssl_ca names the CA that signed the server's certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server requires TLS (require_secure_transport): add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): TLS could not be set up with the server ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}; this connection was not encrypted (ssl_disabled=true), which a server that requires TLS (require_secure_transport) refuses: remove ssl_disabled and add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection to the database was lost while saving, and the database could not be reached to find out whether the change was saved. Look before trying again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Every database connection of this client stayed busy too long; please try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The migration left rows whose foreign keys point nowhere: {rows}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database holds revision '{revision}', which this version of desktop-auth does not know, and its tables are not the tutorial's; refusing to touch it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database schema (revision {revision}) is newer than this version of desktop-auth knows (head {head}); update the application.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database has no tables yet; run: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database schema is out of date (revision {revision}, need {head}); run: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database holds the tutorial's tables and must be adopted; run: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it starts '{scheme}'; the rest is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it does not start with a scheme such as mysql+pymysql:// or sqlite:///; it is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL has an unencoded '@' in its user name or password: write it as %40 ('{url}')</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL asks for the driver '{driver}', but desktop-auth ships PyMySQL: use {backend}+pymysql:// in '{url}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL names no database: '{url}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL '{url}' gives SQLite a user, password or host; a SQLite URL names a file only: 'sqlite:///path/to/file.sqlite3'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL uses an unsupported database '{backend}': '{url}' (use mysql+pymysql:// or sqlite://)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL (for TLS use ssl_ca=/path/to/ca.pem)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'; TLS options are {options}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL gives the option '{name}' more than once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be a whole number of at least {least}, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be true or false, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_disabled=true together with {options}: choose one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_verify_identity=true but ssl_verify_cert=false: a host name is only checked in a verified certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL gives ssl_key without ssl_cert (the client certificate)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option ssl_capath: '{path}' is not a folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' selects no cipher this system offers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' is not a usable PEM file ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: cannot read '{path}' ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DeleteAccountDialog</name>
    <message>
        <source>Delete your account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This deletes the account {email} for good: you are signed out and cannot sign in with it again. Enter your current password to confirm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete my account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete my account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleting your account…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DeleteUsersDialog</name>
    <message>
        <source>Delete account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the account {email}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete accounts</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account?</source>
        <comment>Delete {n} accounts?</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to it, under the address, until an operator erases it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to them, under the address, until an operator erases it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>They include {named} and {n} more.</source>
        <comment>They include {named} and {n} more.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>They include {named}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It is an administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} of them is an administrator.</source>
        <comment>{n} of them are administrators.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Type {answer} to confirm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Type the address, {answer}, to confirm:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Type the number of accounts, {answer}, to confirm:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete accounts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the account</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account</source>
        <comment>Delete {n} accounts</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the address, {answer}, to confirm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the number of accounts, {answer}, to confirm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Deleting {n} account…</source>
        <comment>Deleting {n} accounts…</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FieldError</name>
    <message>
        <source>Invalid entry: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Required</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FilterBar</name>
    <message>
        <source>Filter by email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Email contains…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear the filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starts &amp;with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Match only the start of the address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Match the start of the address (fastest on very large tables)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ro&amp;le:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reload from the database (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All roles</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FormDialog</name>
    <message>
        <source>desktop-auth logo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Working</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;how password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;how passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>At least {n} character</source>
        <comment>At least {n} characters</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Confirm password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;onfirm:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryTab</name>
    <message>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Who</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account / item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What happened</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Detail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audit history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter the history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Who, whom or what…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fil&amp;ter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load &amp;older</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load older entries</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the history to CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} history row to {path}</source>
        <comment>Exported {n} history rows to {path}</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Export history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Identity</name>
    <message>
        <source>Enter an email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot contain spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>An email address has at most {n} character.</source>
        <comment>An email address has at most {n} characters.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>An email address must have an @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address has the "full-width" at-sign (@) character instead of a regular at-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address has the "small commercial at" character instead of a regular at-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There must be something before the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There must be something after the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have two periods in a row.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have a period and a hyphen next to each other.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot start with a period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately before the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately after the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have a hyphen immediately after the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot end with a period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot end with a hyphen.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It should have a period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It is not within a valid top-level domain.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign is a special-use or reserved name that cannot be used with email.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A bracketed IP address after the @-sign is not allowed here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A display name and angle brackets around the email address are not permitted here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quoting the part before the @-sign is not allowed here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains an invalid character.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains invalid characters after the @-sign after IDNA encoding.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There can't be anything after the email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address is not valid ASCII.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains invalid characters in quotes before the @-sign: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address contains unsafe characters: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters after Unicode normalization: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters in brackets: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters: {characters}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} byte too many after IDNA encoding).</source>
        <comment>The email address is too long after the @-sign ({n} bytes too many after IDNA encoding).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long before the @-sign ({n} character too many).</source>
        <comment>The email address is too long before the @-sign ({n} characters too many).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} character too many).</source>
        <comment>The email address is too long after the @-sign ({n} characters too many).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long ({n} character too many).</source>
        <comment>The email address is too long ({n} characters too many).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>After the @-sign, periods cannot be separated by so many characters ({n} character too many).</source>
        <comment>After the @-sign, periods cannot be separated by so many characters ({n} characters too many).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The part after the @-sign is not a valid domain name or address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is not a valid email address.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportPreviewModel</name>
    <message>
        <source>OK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {line}, has problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {line}, no problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Problems</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImportUsersDialog</name>
    <message>
        <source>Import users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the temporary passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create many accounts at once from a CSV file; each gets its own temporary password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file is UTF-8 text whose first line names the columns: email,role (role may be left out; then the role is user). At most {rows} rows. Every row is checked first; nothing is imported until no row has a problem, and then all of them are, or none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Choose file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the CSV file to import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No file chosen.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rows of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Rows:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Only rows with problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show only the rows with problems</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import every row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking every row…</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>No problems: {n} row ready to import.</source>
        <comment>No problems: {n} rows ready to import.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>1 of 1 row has problems.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} of {total} rows has problems.</source>
        <comment>{n} of {total} rows have problems.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Importing {n} account…</source>
        <comment>Importing {n} accounts…</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account.</source>
        <comment>Imported {n} accounts.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</source>
        <comment>Imported {n} accounts. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Save passwords…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the temporary passwords to a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The passwords could not be saved: {problem} Choose another place with Save passwords. If you close this window first, reset those accounts' passwords to give them new ones.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving the passwords…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Import CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import users from a CSV file</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Lifecycle</name>
    <message numerus="yes">
        <source>No account has the address {emails} and {n} more; nothing was deleted.</source>
        <comment>No account has the address {emails} and {n} more; nothing was deleted.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>No account has the address {emails}; nothing was deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An account still has the address {email}: delete the account first.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The wait is over: you can sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in to your desktop-auth account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Create account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Forgot password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forgot password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to the database…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking your password…</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Your password was changed. Sign in with the new one. You have {n} recovery code left.</source>
        <comment>Your password was changed. Sign in with the new one. You have {n} recovery codes left.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Your password was changed. Sign in with the new one. That was your last recovery code: make new ones from your account window.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NewAccountDialog</name>
    <message>
        <source>&amp;Email:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>OwnAccount</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile; sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is already your email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{email} already has that address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{email} was changed or deleted meanwhile; nothing was renamed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>OwnAccountDialog</name>
    <message>
        <source>Current password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;urrent password:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PasswordPolicy</name>
    <message numerus="yes">
        <source>Use at least {n} character. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</source>
        <comment>Use at least {n} characters. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use at most {maximum} characters (this has {length}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove characters that are not valid text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove control characters such as tabs or line breaks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use visible characters: this password is only spaces or invisible characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}, not counting {hidden} invisible).</source>
        <comment>Use at least {n} characters (this has {visible}, not counting {hidden} invisible).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}).</source>
        <comment>Use at least {n} characters (this has {visible}).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>This is a commonly used password; choose another.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Don't build your password from your email address.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PasswordStrength</name>
    <message>
        <source>Use a few words, avoid common phrases.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No need for symbols, digits, or uppercase letters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add another word or two. Uncommon words are better.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use a longer keyboard pattern with more turns.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Avoid repeated words and characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Avoid sequences.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Avoid recent years.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Avoid years that are associated with you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Avoid dates and years that are associated with you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capitalization doesn't help very much.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All-uppercase is almost as easy to guess as all-lowercase.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reversed words aren't much harder to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Predictable substitutions like '@' instead of 'a' don't help very much.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc".</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent years are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dates are often easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a top-10 common password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a top-100 common password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a very common password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is similar to a commonly used password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A word by itself is easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This password is easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc"; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent years are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dates are often easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a top-10 common password; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a top-100 common password; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a very common password; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is similar to a commonly used password; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A word by itself is easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess; add another word or two.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PasswordTable</name>
    <message>
        <source>Temporary passwords</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PendingEdits</name>
    <message>
        <source>active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>inactive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, activate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, deactivate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{role}, unsaved, was {old}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>active, unsaved, was inactive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>inactive, unsaved, was active</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecordActions</name>
    <message numerus="yes">
        <source>Unlocked {n} account.</source>
        <comment>Unlocked {n} accounts.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account.</source>
        <comment>Reset the passwords of {n} accounts.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The selected accounts no longer exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Deleted {n} account.</source>
        <comment>Deleted {n} accounts.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Export users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} user to {path}</source>
        <comment>Exported {n} users to {path}</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Recovery</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>desktop-auth recovery codes for {email}, made {moment}.
Each code resets your password once. A new batch replaces these.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecoveryCodesDialog</name>
    <message>
        <source>New codes replace your earlier ones: those stop working at once.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>If you forget your password, one of these codes lets you choose a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Make new codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make new recovery codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You have no unused codes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>You have {n} unused code.</source>
        <comment>You have {n} unused codes.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Making new codes…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep them somewhere safe, on paper or in a password manager: each one resets your password once. They are shown only now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your earlier codes no longer work.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your &amp;codes:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Save to file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the codes to a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close and forget the codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied the codes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save recovery codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved the codes to {path} (readable only by you).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close without keeping the codes?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The codes were neither copied nor saved, and they are not shown again. Without them, a forgotten password needs an administrator (you can make new codes from your account window).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RegisterDialog</name>
    <message>
        <source>Create an account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a long password: a few unrelated words work well.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Register</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Register</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <source>Forgot password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use one of your recovery codes to choose a new password. Each code works once.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery &amp;code:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Authenticator code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only if you use two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Authenticator code:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the password with the code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter one of your recovery codes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ResetTwoFactorDialog</name>
    <message>
        <source>Reset two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Their authenticator app stops working for this account: until they set one up again in their account window, the password alone signs in. Do this when they have lost their phone and their recovery codes, and you are sure the request is theirs. The history records it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reset two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resetting the two-factor sign-in of {email}…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RoleDelegate</name>
    <message>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RoleEditor</name>
    <message>
        <source>Role editor — desktop-auth</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role editor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U&amp;sers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rol&amp;es</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settin&amp;gs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} change is not saved. Save before closing?</source>
        <comment>{n} changes are not saved. Save before closing?</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Roles</name>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a role name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A role name has at most {limit} characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A role name starts with a letter and holds only letters a-z, digits, '.', '_' or '-'.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A description has at most {limit} characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The description is not valid text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A description is one line of text, without tabs or other control characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A description cannot hold characters that reverse the direction of text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The role is already named '{role}'.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RolesTab</name>
    <message>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Roles</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New role name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>e.g. auditor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;New role:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Add role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Remove selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name of the selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Na&amp;me:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename ro&amp;le</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename the selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Description of the selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the role is for (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Descr&amp;iption:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save &amp;description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the description of the selected role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Roles with what they are for and their number of users. 'admin' and 'user' are built in: they can be described but not renamed. A role can be removed only when nobody holds it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>built in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>custom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no description</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Select a role in the table first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A built-in role keeps its name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Added role {role}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a role to remove.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removed role {role}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a custom role to rename.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Renamed role {old} to {new}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a role to describe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cleared the description of role {role}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved the description of role {role}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Search</name>
    <message numerus="yes">
        <source>A search has at most {limit} characters (no address is longer); this one has {n}.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ServiceErrors</name>
    <message>
        <source>An account with this email address already exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This address looks too much like an existing account's. Choose another.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The email address or password is incorrect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This account has been deactivated. Ask an administrator to reactivate it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This temporary password has expired. Ask an administrator for a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose your own password before you do anything else.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} second</source>
        <comment>{n} seconds</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} minute</source>
        <comment>{n} minutes</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} second, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} seconds, or ask an administrator to unlock the account.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} minute, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} minutes, or ask an administrator to unlock the account.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Only an active administrator can do this.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: the edited accounts. Nothing was saved; review the reloaded rows and save again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: {emails}. Nothing was saved; review the reloaded rows and save again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change would leave no active administrator, so it was not made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You cannot deactivate your own account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change takes away your own administrator role: you would lose access to the role editor.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended (staged); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended (running); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended (failed); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended (cancelled); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended (done); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This change has already ended ({state}); stage it again to apply it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be renamed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be removed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>The role '{name}' is held by {n} account; give them another role first.</source>
        <comment>The role '{name}' is held by {n} accounts; give them another role first.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>A role named '{name}' already exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An administrator account already exists. Sign in instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Self-registration is turned off. Ask an administrator to create your account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This would delete the last active administrator, so nothing was deleted. Make another account an administrator first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your own account is among those selected: you cannot delete it from here. Leave it out of the selection (Ctrl+click it).</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete at most {limit} accounts at once ({n} is selected); nothing was deleted. Narrow the selection, for example with the filter.</source>
        <comment>Delete at most {limit} accounts at once ({n} are selected); nothing was deleted. Narrow the selection, for example with the filter.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>That code is not valid for that address. If you have no recovery codes, ask an administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You are the last active administrator, so your account cannot be deleted. Make someone else an administrator first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file cannot be imported as it is; nothing was imported. Fix it and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} row of the file has problems; nothing was imported. Fix them and try again.</source>
        <comment>{n} rows of the file have problems; nothing was imported. Fix them and try again.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Meanwhile someone else registered one of the addresses (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Meanwhile someone else registered {emails} (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <comment>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>The import was cancelled; nothing was imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the code from your authenticator app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrators of this organisation sign in with an authenticator app too: set one up to go on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That took too long: sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This account uses two-factor sign-in: type the current code from its authenticator app too. If you lost it, ask an administrator.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsTab</name>
    <message>
        <source>Allow people to create their own accounts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow self-registration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>First lockout in seconds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Longest lockout in seconds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle sign-out in minutes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary passwords expire after, in hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How long a temporary password from a reset works; it must be changed at the next sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Require two-factor sign-in for administrators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrators then sign in with a code from an authenticator app too; one without it is taken to set it up right after the password. Set up your own first (Account window).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Self-registration:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed sign-ins before a &amp;lockout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;First lockout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lo&amp;ngest lockout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Idle sign-out after:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Temporary passwords expire after:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sa&amp;ve settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>These settings are stored in the database: every client of this database follows them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SetupAdminDialog</name>
    <message>
        <source>Create the administrator account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This database has no administrator yet. The account you create here manages everyone else's.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Create administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What you typed to sign in is kept below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating the administrator…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SharedSettings</name>
    <message>
        <source>Self-registration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>First lockout (seconds)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Longest lockout (seconds)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle sign-out (minutes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary passwords expire after (hours)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{setting} must be between {low} and {high}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The longest lockout cannot be shorter than the first one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set up two-factor sign-in for your own account first (Account window, Two-factor sign-in).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unknown setting: {names}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StartupErrorDialog</name>
    <message>
        <source>An operator upgrades the database schema with:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install the version of desktop-auth that matches this database.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct DATABASE_URL in the environment or the .env file (or the file DATABASE_URL_FILE names), for example:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct that setting in the environment or the .env file (see .env.example), then retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that the database server is running and reachable, then retry. To test it:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry; if it happens again, the log file has the details.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot open the database</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StrengthMeter</name>
    <message>
        <source>Very weak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weak</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Strong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Very strong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password strength</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordDialog</name>
    <message>
        <source>Reset the password of {email}?</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account?</source>
        <comment>Reset the passwords of {n} accounts?</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Reset password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reset passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset the password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hour.</source>
        <comment>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hours.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after the time set in Settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Resetting {n} password…</source>
        <comment>Resetting {n} passwords…</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Temporary passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give each person their own password; they expire at {expires}. They are shown only now: copy or export them before you close this window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Passwords:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy &amp;all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy all passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the selected passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the passwords to a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close and forget the passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Copied {n} password.</source>
        <comment>Copied {n} passwords.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Export temporary passwords</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} password to {path} (readable only by you).</source>
        <comment>Exported {n} passwords to {path} (readable only by you).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>None of the passwords were copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{unkept} of {n} passwords were copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <comment>{unkept} of {n} passwords were copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Close without copying?</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordModel</name>
    <message>
        <source>Email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary password</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TemporaryPasswords</name>
    <message>
        <source>The password policy allows at most {limit} characters, too few for a safe temporary password ({needed}). Raise DESKTOP_AUTH_PASSWORD_MAX_LENGTH.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not write {path}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TotpCodeDialog</name>
    <message>
        <source>Two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the code your authenticator app shows for {email}. Lost your phone? Type one of your recovery codes instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} digit, or a recovery code</source>
        <comment>{n} digits, or a recovery code</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Code:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Verify</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verify the code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel and go back to the sign-in form</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows, or a recovery code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TwoFactor</name>
    <message>
        <source>A stored two-factor secret has an unknown format.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor secrets in this database are encrypted: set DESKTOP_AUTH_TOTP_KEY to the organisation's key on this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY on this computer is not the key these two-factor secrets were encrypted with.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is already on for this account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your password was changed meanwhile; sign in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That is not a secret this app made; start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Two-factor sign-in is not on for this account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no account '{email}'.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{email} has no two-factor sign-in to reset.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile (password or two-factor); try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This organisation requires two-factor sign-in of administrators: it cannot be turned off. To move it to a new phone, turn it on again after an administrator resets it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TwoFactorOffDialog</name>
    <message>
        <source>Turn off two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signing in will ask for your password only. Type your current password and the code your authenticator app shows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Turn off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turning it off…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TwoFactorSetupDialog</name>
    <message>
        <source>Your organisation requires administrators to sign in with an authenticator app too. Set it up now: scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>After your password, signing in will also ask for a code from an authenticator app on your phone. Scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set up two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>QR code for your authenticator app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>If you cannot scan it, type the secret key below into the app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Secret key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the secret key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Secret key:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Turn on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turn on two-factor sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Making a new secret key…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied the secret key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UnfinishedBar</name>
    <message>
        <source>Res&amp;ume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume the unfinished change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;top it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the unfinished change where it is</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>An unfinished change ({change}) has reached {done} of {n} user.</source>
        <comment>An unfinished change ({change}) has reached {done} of {n} users.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>{reached} It stopped: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UserImport</name>
    <message numerus="yes">
        <source>the same address as lines {lines} and {n} more</source>
        <comment>the same address as lines {lines} and {n} more</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>the same address as line {lines}</source>
        <comment>the same address as lines {lines}</comment>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>looks like {address} on lines {lines} and {n} more</source>
        <comment>looks like {address} on lines {lines} and {n} more</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>looks like {address} on line {lines}</source>
        <comment>looks like {address} on lines {lines}</comment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {line}: the file is not UTF-8 text (byte {byte}); save it as UTF-8</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the address is {length} characters long (at most {limit})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the role is {length} characters long (at most {limit})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the address starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the role starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the address contains an invisible or control character ({characters})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the role contains an invisible or control character ({characters})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line 1: the first line must name the columns: email,role (or email;role, or email); found '{found}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {line}: the file has more than {limit} rows; import at most {limit} at once (split the file)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {line}: the file is not valid CSV ({detail})</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>expected {n} cell ({columns}), found {found}</source>
        <comment>expected {n} cells ({columns}), found {found}</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>no address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>invalid address: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown role '{role}'</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>an account with this address already exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>looks too much like the existing account {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read {path}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line 1: the file is larger than {megabytes} MB; import at most {limit} rows at once (split the file)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line 2: the file has no rows to import</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file has no rows to import.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A role of the file was removed meanwhile; nothing was imported.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no role named '{role}' (removed meanwhile); nothing was imported.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UserTable</name>
    <message>
        <source>Email</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Role</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Active</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Locked until</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last sign-in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign-ins</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Updated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Must change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary password expires</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>2FA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Must change
password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Temporary password
expires</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery
codes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>need not change password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no temporary password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>temporary password expired</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>temporary password expires {moment}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no recovery codes left</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} recovery code left</source>
        <comment>{n} recovery codes left</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>two-factor on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>two-factor off</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UserTableView</name>
    <message>
        <source>Users</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UsersTab</name>
    <message>
        <source>&amp;Revert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revert unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sa&amp;ve</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Counting users…</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} selected</source>
        <comment>{n} selected</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Choosing the selected users…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unsaved: {change}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved change (marked)</source>
        <comment>{n} unsaved changes (marked)</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>{old} → {new}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved role change now names the renamed role ({renames}).</source>
        <comment>{n} unsaved role changes now name the renamed role ({renames}).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped {n} unsaved role change: the role is gone ({roles}).</source>
        <comment>Dropped {n} unsaved role changes: the role is gone ({roles}).</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped the unsaved change for {n} selected user: its role {role} is gone.</source>
        <comment>Dropped the unsaved change for {n} selected users: its role {role} is gone.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You are about to take away your own administrator role. You will lose access to this window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Saved changes to {n} user.</source>
        <comment>Saved changes to {n} users.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>fields</name>
    <message>
        <source>The passwords do not match.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Email address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>name@example.com</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>help</name>
    <message>
        <source>Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{title} — desktop-auth help</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>messages</name>
    <message>
        <source>Something unexpected went wrong. The details are in the log file; please try again.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>totp_code</name>
    <message>
        <source>Authenticator code</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{n} digit</source>
        <comment>{n} digits</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>A code is {n} digit, like 123 456.</source>
        <comment>A code is {n} digits, like 123 456.</comment>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
</TS>

<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ar">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About desktop-auth</source>
        <translation>حول desktop-auth</translation>
    </message>
    <message>
        <source>A desktop account manager.</source>
        <translation>مدير حسابات لسطح المكتب.</translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation>الإ&amp;صدار:</translation>
    </message>
    <message>
        <source>&amp;Database:</source>
        <translation>&amp;قاعدة البيانات:</translation>
    </message>
    <message>
        <source>&amp;Licence:</source>
        <translation>ال&amp;ترخيص:</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>جارٍ القراءة…</translation>
    </message>
</context>
<context>
    <name>AccountWindow</name>
    <message>
        <source>This is your first sign-in</source>
        <translation>هذا أول تسجيل دخول لك</translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up with Two-factor sign-in… (Alt+T) to go on administering.</source>
        <translation>يجب على المسؤولين الآن استخدام تسجيل الدخول بخطوتين: فعِّله من «تسجيل الدخول بخطوتين…» (Alt+ت) لمتابعة مهام الإدارة.</translation>
    </message>
    <message>
        <source>{email} — desktop-auth</source>
        <translation>{email} — desktop-auth</translation>
    </message>
    <message>
        <source>Your account</source>
        <translation>حسابك</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>الحساب</translation>
    </message>
    <message>
        <source>You are signed in.</source>
        <translation>لقد سجّلت الدخول.</translation>
    </message>
    <message>
        <source>Email:</source>
        <translation>البريد الإلكتروني:</translation>
    </message>
    <message>
        <source>Role:</source>
        <translation>الدور:</translation>
    </message>
    <message>
        <source>Last sign-in:</source>
        <translation>آخر تسجيل دخول:</translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation>تسجيل الدخول بخطوتين:</translation>
    </message>
    <message>
        <source>&amp;Change password…</source>
        <translation>تغيير &amp;كلمة المرور…</translation>
    </message>
    <message>
        <source>Change password</source>
        <translation>تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>Change &amp;email…</source>
        <translation>تغيير ال&amp;بريد الإلكتروني…</translation>
    </message>
    <message>
        <source>Change email address</source>
        <translation>تغيير عنوان البريد الإلكتروني</translation>
    </message>
    <message>
        <source>&amp;Delete account…</source>
        <translation>&amp;حذف الحساب…</translation>
    </message>
    <message>
        <source>Delete your account</source>
        <translation>حذف حسابك</translation>
    </message>
    <message>
        <source>&amp;Role editor…</source>
        <translation>محرر الأدوا&amp;ر…</translation>
    </message>
    <message>
        <source>Open the role editor</source>
        <translation>فتح محرر الأدوار</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;مساعدة</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>مساعدة</translation>
    </message>
    <message>
        <source>Help for this window (F1)</source>
        <translation>مساعدة حول هذه النافذة (F1)</translation>
    </message>
    <message>
        <source>&amp;About…</source>
        <translation>&amp;عن البرنامج…</translation>
    </message>
    <message>
        <source>About desktop-auth</source>
        <translation>حول desktop-auth</translation>
    </message>
    <message>
        <source>Sign &amp;out</source>
        <translation>تسجيل ال&amp;خروج</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>تسجيل الخروج</translation>
    </message>
    <message>
        <source>Recover&amp;y codes…</source>
        <translation>رموز الا&amp;سترداد…</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>رموز الاسترداد</translation>
    </message>
    <message>
        <source>&amp;Two-factor sign-in…</source>
        <translation>&amp;تسجيل الدخول بخطوتين…</translation>
    </message>
    <message>
        <source>Two-factor sign-in</source>
        <translation>تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Signed in as {email}</source>
        <translation>تم تسجيل الدخول باسم {email}</translation>
    </message>
    <message numerus="yes">
        <source>You were signed out after {n} minute without activity.</source>
        <comment>You were signed out after {n} minutes without activity.</comment>
        <translation>
            <numerusform>تم تسجيل خروجك بعد {n} دقيقة من عدم النشاط.</numerusform>
            <numerusform>تم تسجيل خروجك بعد دقيقة واحدة من عدم النشاط.</numerusform>
            <numerusform>تم تسجيل خروجك بعد دقيقتين من عدم النشاط.</numerusform>
            <numerusform>تم تسجيل خروجك بعد {n} دقائق من عدم النشاط.</numerusform>
            <numerusform>تم تسجيل خروجك بعد {n} دقيقة من عدم النشاط.</numerusform>
            <numerusform>تم تسجيل خروجك بعد {n} دقيقة من عدم النشاط.</numerusform>
        </translation>
    </message>
    <message>
        <source>{action} ({keys})</source>
        <translation>{action} ({keys})</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>اللغة</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>الافتراضي في النظام</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>ال&amp;لغة:</translation>
    </message>
    <message>
        <source>The DESKTOP_AUTH_LANGUAGE environment variable decides the language for now: your choice applies once it is unset.</source>
        <translation>يحدد متغير البيئة DESKTOP_AUTH_LANGUAGE اللغة حاليًا: يُطبَّق اختيارك بعد إزالة تعيينه.</translation>
    </message>
    <message>
        <source>Your session ended.</source>
        <translation>انتهت جلستك.</translation>
    </message>
    <message>
        <source>Your password was changed.</source>
        <translation>تم تغيير كلمة المرور الخاصة بك.</translation>
    </message>
    <message>
        <source>On</source>
        <translation>مفعّل</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>معطّل</translation>
    </message>
    <message>
        <source>Two-factor sign-in (on)</source>
        <translation>تسجيل الدخول بخطوتين (مفعّل)</translation>
    </message>
    <message>
        <source>Two-factor sign-in (off)</source>
        <translation>تسجيل الدخول بخطوتين (معطّل)</translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: turn it off</source>
        <translation>تسجيل الدخول بخطوتين مفعّل: انقر لتعطيله</translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: turn it on</source>
        <translation>تسجيل الدخول بخطوتين معطّل: انقر لتفعيله</translation>
    </message>
    <message>
        <source>Two-factor sign-in is off: signing in asks for your password only.</source>
        <translation>تسجيل الدخول بخطوتين معطّل: يطلب تسجيل الدخول كلمة المرور فقط.</translation>
    </message>
    <message numerus="yes">
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery code.</source>
        <comment>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have {n} recovery codes.</comment>
        <translation>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. ليس لديك أي رموز استرداد.</numerusform>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لديك رمز استرداد واحد.</numerusform>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لديك رمزا استرداد.</numerusform>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لديك {n} رموز استرداد.</numerusform>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لديك {n} رمزًا للاسترداد.</numerusform>
            <numerusform>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لديك {n} رمز استرداد.</numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app. No recovery codes were made: {problem}</source>
        <translation>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة. لم يتم إنشاء رموز استرداد: {problem}</translation>
    </message>
    <message>
        <source>Two-factor sign-in is on: signing in now asks for a code from your authenticator app.</source>
        <translation>تسجيل الدخول بخطوتين مفعّل: يطلب تسجيل الدخول الآن رمزًا من تطبيق المصادقة.</translation>
    </message>
    <message>
        <source>Your email address is now {email}.</source>
        <translation>أصبح عنوان بريدك الإلكتروني الآن {email}.</translation>
    </message>
    <message>
        <source>Your account {email} was deleted.</source>
        <translation>تم حذف حسابك {email}.</translation>
    </message>
</context>
<context>
    <name>Accounts</name>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right). A recovery code works once too.</source>
        <translation>هذا الرمز غير صحيح. اكتب أحدث رمز يعرضه تطبيق المصادقة (يعمل الرمز مرة واحدة، ويجب أن تكون ساعة الهاتف مضبوطة). يعمل رمز الاسترداد أيضًا مرة واحدة.</translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>لا يوجد دور باسم '{role}'.</translation>
    </message>
    <message>
        <source>This sign-in needs the other second step; sign in again.</source>
        <translation>يحتاج تسجيل الدخول هذا إلى الخطوة الثانية الأخرى؛ سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation>لم يعد هذا الحساب موجودًا.</translation>
    </message>
    <message>
        <source>Your account no longer exists.</source>
        <translation>لم يعد حسابك موجودًا.</translation>
    </message>
    <message>
        <source>Your account has been deactivated.</source>
        <translation>تم تعطيل حسابك.</translation>
    </message>
    <message>
        <source>Your password was changed elsewhere. Sign in again.</source>
        <translation>تم تغيير كلمة المرور من مكان آخر. سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation>كلمة المرور الحالية غير صحيحة.</translation>
    </message>
    <message>
        <source>The new password must differ from the current one.</source>
        <translation>يجب أن تختلف كلمة المرور الجديدة عن الحالية.</translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation>تم تغيير كلمة المرور من مكان آخر في أثناء ذلك؛ سجّل الدخول مرة أخرى.</translation>
    </message>
</context>
<context>
    <name>ActionBar</name>
    <message>
        <source>Role for the selected users</source>
        <translation>دور المستخدمين المحددين</translation>
    </message>
    <message>
        <source>Set r&amp;ole</source>
        <translation>تعيين ال&amp;دور</translation>
    </message>
    <message>
        <source>Set role of the selected users</source>
        <translation>تعيين دور المستخدمين المحددين</translation>
    </message>
    <message>
        <source>&amp;Activate</source>
        <translation>ت&amp;فعيل</translation>
    </message>
    <message>
        <source>Activate the selected users</source>
        <translation>تفعيل المستخدمين المحددين</translation>
    </message>
    <message>
        <source>&amp;Deactivate</source>
        <translation>تع&amp;طيل</translation>
    </message>
    <message>
        <source>Deactivate the selected users</source>
        <translation>تعطيل المستخدمين المحددين</translation>
    </message>
    <message>
        <source>U&amp;nlock</source>
        <translation>إلغاء ال&amp;قفل</translation>
    </message>
    <message>
        <source>Unlock the selected users</source>
        <translation>إلغاء قفل المستخدمين المحددين</translation>
    </message>
    <message>
        <source>Reset &amp;password…</source>
        <translation>إعادة تعيين &amp;كلمة المرور…</translation>
    </message>
    <message>
        <source>Reset the password of the selected users</source>
        <translation>إعادة تعيين كلمة مرور المستخدمين المحددين</translation>
    </message>
    <message>
        <source>Reset &amp;2FA…</source>
        <translation>إعادة &amp;تعيين 2FA…</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of the selected user</source>
        <translation>إعادة تعيين تسجيل الدخول بخطوتين للمستخدم المحدد</translation>
    </message>
    <message>
        <source>Remove the selected user's two-factor sign-in (one user at a time, with two-factor on)</source>
        <translation>إزالة تسجيل الدخول بخطوتين للمستخدم المحدد (مستخدم واحد في كل مرة، مع تفعيل تسجيل الدخول بخطوتين)</translation>
    </message>
    <message>
        <source>Dele&amp;te…</source>
        <translation>&amp;حذف…</translation>
    </message>
    <message>
        <source>Delete the selected users</source>
        <translation>حذف المستخدمين المحددين</translation>
    </message>
    <message>
        <source>&amp;Create user…</source>
        <translation>إ&amp;نشاء مستخدم…</translation>
    </message>
    <message>
        <source>Create a user</source>
        <translation>إنشاء مستخدم</translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation>ت&amp;صدير CSV…</translation>
    </message>
    <message>
        <source>Export the users to CSV</source>
        <translation>تصدير المستخدمين إلى CSV</translation>
    </message>
    <message>
        <source>Selected users:</source>
        <translation>المستخدمون المحددون:</translation>
    </message>
</context>
<context>
    <name>Admin</name>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>لا يوجد حساب بعنوان البريد الإلكتروني {email}.</translation>
    </message>
    <message>
        <source>Each account may appear only once in one save.</source>
        <translation>يمكن أن يظهر كل حساب مرة واحدة فقط في كل عملية حفظ.</translation>
    </message>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>لا يوجد دور باسم '{role}'.</translation>
    </message>
    <message numerus="yes">
        <source>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</source>
        <comment>Reset at most {limit} passwords at once ({n} were selected): each person must be given their own. Narrow the selection.</comment>
        <translation>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
            <numerusform>يمكن إعادة تعيين {limit} من كلمات المرور على الأكثر في المرة الواحدة (عدد المحدد: {n}): يجب إعطاء كل شخص كلمة مرور خاصة به. قلّل التحديد.</numerusform>
        </translation>
    </message>
    <message>
        <source>Your own password cannot be reset here; use Change password instead.</source>
        <translation>لا يمكن إعادة تعيين كلمة مرورك هنا؛ استخدم «تغيير كلمة المرور» بدلًا من ذلك.</translation>
    </message>
    <message>
        <source>The built-in role 'admin' is missing; run: desktop-auth db upgrade</source>
        <translation>الدور المضمَّن 'admin' مفقود؛ شغّل: desktop-auth db upgrade</translation>
    </message>
    <message>
        <source>Administrators must now use two-factor sign-in: set it up in your account window first.</source>
        <translation>يجب على المسؤولين الآن استخدام تسجيل الدخول بخطوتين: أعدّه في نافذة حسابك أولًا.</translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Your account is ready. Sign in below.</source>
        <translation>حسابك جاهز. سجّل الدخول أدناه.</translation>
    </message>
</context>
<context>
    <name>Audit</name>
    <message>
        <source>Account created with the role {role}</source>
        <translation>تم إنشاء الحساب بالدور {role}</translation>
    </message>
    <message>
        <source>Account created</source>
        <translation>تم إنشاء الحساب</translation>
    </message>
    <message>
        <source>Role changed from {old} to {new}</source>
        <translation>تم تغيير الدور من {old} إلى {new}</translation>
    </message>
    <message>
        <source>Account activated</source>
        <translation>تم تفعيل الحساب</translation>
    </message>
    <message>
        <source>Account deactivated</source>
        <translation>تم تعطيل الحساب</translation>
    </message>
    <message>
        <source>Password changed</source>
        <translation>تم تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the password</source>
        <translation>أُدخلت كلمة مرور حالية خاطئة أثناء تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>Wrong current password typed while changing the email address</source>
        <translation>أُدخلت كلمة مرور حالية خاطئة أثناء تغيير عنوان البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Wrong current password typed while deleting the account</source>
        <translation>أُدخلت كلمة مرور حالية خاطئة أثناء حذف الحساب</translation>
    </message>
    <message>
        <source>Password reset to a temporary password</source>
        <translation>أُعيد تعيين كلمة المرور إلى كلمة مرور مؤقتة</translation>
    </message>
    <message>
        <source>Password reset to a temporary password that expires {moment}</source>
        <translation>أُعيد تعيين كلمة المرور إلى كلمة مرور مؤقتة تنتهي صلاحيتها {moment}</translation>
    </message>
    <message>
        <source>Sign-in locked</source>
        <translation>تم قفل تسجيل الدخول</translation>
    </message>
    <message>
        <source>Sign-in locked until {moment}</source>
        <translation>تم قفل تسجيل الدخول حتى {moment}</translation>
    </message>
    <message>
        <source>Unlocked</source>
        <translation>تم إلغاء القفل</translation>
    </message>
    <message>
        <source>Failed sign-in attempts forgotten</source>
        <translation>تم مسح محاولات تسجيل الدخول الفاشلة</translation>
    </message>
    <message>
        <source>“{setting}” changed from {old} to {new}</source>
        <translation>تم تغيير «{setting}» من {old} إلى {new}</translation>
    </message>
    <message>
        <source>Role added</source>
        <translation>تمت إضافة الدور</translation>
    </message>
    <message>
        <source>Role removed</source>
        <translation>تمت إزالة الدور</translation>
    </message>
    <message>
        <source>Role renamed from {old} to {new}</source>
        <translation>تمت إعادة تسمية الدور من {old} إلى {new}</translation>
    </message>
    <message>
        <source>Role description cleared</source>
        <translation>تم مسح وصف الدور</translation>
    </message>
    <message>
        <source>Role description set to “{description}”</source>
        <translation>تم تعيين وصف الدور إلى «{description}»</translation>
    </message>
    <message>
        <source>Change of many users started</source>
        <translation>بدأ تغيير جماعي للمستخدمين</translation>
    </message>
    <message>
        <source>Change of many users started: {change}</source>
        <translation>بدأ تغيير جماعي للمستخدمين: {change}</translation>
    </message>
    <message>
        <source>Change of many users stopped</source>
        <translation>توقف التغيير الجماعي للمستخدمين</translation>
    </message>
    <message>
        <source>Imported accounts from a CSV file</source>
        <translation>تم استيراد حسابات من ملف CSV</translation>
    </message>
    <message>
        <source>Imported {count} accounts from a CSV file</source>
        <translation>تم استيراد حسابات من ملف CSV (العدد: {count})</translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account from a CSV file</source>
        <comment>Imported {n} accounts from a CSV file</comment>
        <translation>
            <numerusform>تم استيراد {n} حساب من ملف CSV</numerusform>
            <numerusform>تم استيراد حساب واحد من ملف CSV</numerusform>
            <numerusform>تم استيراد حسابين من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حسابات من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حسابًا من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حساب من ملف CSV</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset own password with a recovery code</source>
        <translation>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد</translation>
    </message>
    <message numerus="yes">
        <source>Reset own password with a recovery code ({n} left)</source>
        <comment>Reset own password with a recovery code ({n} left)</comment>
        <translation>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمز)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى رمز واحد)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى رمزان)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّت {n} رموز)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمزًا)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمز)</numerusform>
        </translation>
    </message>
    <message>
        <source>Signed in with a recovery code instead of the authenticator</source>
        <translation>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة</translation>
    </message>
    <message numerus="yes">
        <source>Signed in with a recovery code instead of the authenticator ({n} left)</source>
        <comment>Signed in with a recovery code instead of the authenticator ({n} left)</comment>
        <translation>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمز)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى رمز واحد)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى رمزان)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّت {n} رموز)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمزًا)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمز)</numerusform>
        </translation>
    </message>
    <message>
        <source>Two-factor sign-in turned on</source>
        <translation>تم تفعيل تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Wrong current password typed while turning on two-factor sign-in</source>
        <translation>أُدخلت كلمة مرور حالية خاطئة أثناء تفعيل تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Two-factor sign-in turned off</source>
        <translation>تم إيقاف تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Wrong password or code typed while turning off two-factor sign-in</source>
        <translation>أُدخلت كلمة مرور أو رمز خاطئ أثناء إيقاف تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Wrong or reused authenticator code at sign-in</source>
        <translation>رمز مصادقة خاطئ أو مستخدَم من قبل عند تسجيل الدخول</translation>
    </message>
    <message>
        <source>Two-factor sign-in removed by an administrator</source>
        <translation>أزال أحد المسؤولين تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Address of {address} erased from the history entries</source>
        <translation>تم محو عنوان {address} من إدخالات السجل</translation>
    </message>
    <message numerus="yes">
        <source>Address of {address} erased from {n} history entry</source>
        <comment>Address of {address} erased from {n} history entries</comment>
        <translation>
            <numerusform>تم محو عنوان {address} من {n} إدخال في السجل</numerusform>
            <numerusform>تم محو عنوان {address} من إدخال واحد في السجل</numerusform>
            <numerusform>تم محو عنوان {address} من إدخالين في السجل</numerusform>
            <numerusform>تم محو عنوان {address} من {n} إدخالات في السجل</numerusform>
            <numerusform>تم محو عنوان {address} من {n} إدخالًا في السجل</numerusform>
            <numerusform>تم محو عنوان {address} من {n} إدخال في السجل</numerusform>
        </translation>
    </message>
    <message>
        <source>{action}: {old} → {new}</source>
        <translation>{action}: {old} ← {new}</translation>
    </message>
    <message>
        <source>on</source>
        <translation>مفعّل</translation>
    </message>
    <message>
        <source>off</source>
        <translation>معطّل</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(لا شيء)</translation>
    </message>
    <message>
        <source>Changed email from {old} to {new}</source>
        <translation>تم تغيير البريد الإلكتروني من {old} إلى {new}</translation>
    </message>
    <message>
        <source>Email address changed</source>
        <translation>تم تغيير عنوان البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Deleted own account</source>
        <translation>حذف المستخدم حسابه</translation>
    </message>
    <message>
        <source>Deleted own account, was {address}</source>
        <translation>حذف المستخدم حسابه، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted own account #{number}</source>
        <translation>حذف المستخدم حسابه #{number}</translation>
    </message>
    <message>
        <source>Deleted own account #{number}, was {address}</source>
        <translation>حذف المستخدم حسابه #{number}، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted account with the role {role}, was {address}</source>
        <translation>تم حذف حساب بالدور {role}، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted account with the role {role}</source>
        <translation>تم حذف حساب بالدور {role}</translation>
    </message>
    <message>
        <source>Deleted account, was {address}</source>
        <translation>تم حذف حساب، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted account</source>
        <translation>تم حذف حساب</translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}, was {address}</source>
        <translation>تم حذف الحساب #{number} بالدور {role}، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted account #{number} with the role {role}</source>
        <translation>تم حذف الحساب #{number} بالدور {role}</translation>
    </message>
    <message>
        <source>Deleted account #{number}, was {address}</source>
        <translation>تم حذف الحساب #{number}، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>Deleted account #{number}</source>
        <translation>تم حذف الحساب #{number}</translation>
    </message>
    <message>
        <source>Change of many users finished</source>
        <translation>انتهى التغيير الجماعي للمستخدمين</translation>
    </message>
    <message>
        <source>Change of many users finished: {result}</source>
        <translation>انتهى التغيير الجماعي للمستخدمين: {result}</translation>
    </message>
    <message>
        <source>Change of many users finished: changed {changed}, left alone {left}</source>
        <translation>انتهى التغيير الجماعي للمستخدمين: تم تغيير {changed}، وتُرك {left} دون تغيير</translation>
    </message>
    <message>
        <source>New recovery codes made; the earlier ones no longer work</source>
        <translation>تم إنشاء رموز استرداد جديدة؛ لم تعد الرموز السابقة صالحة</translation>
    </message>
    <message>
        <source>New recovery codes made</source>
        <translation>تم إنشاء رموز استرداد جديدة</translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made; the earlier ones no longer work</source>
        <comment>{n} new recovery codes made; the earlier ones no longer work</comment>
        <translation>
            <numerusform>تم إنشاء {n} رمز استرداد جديد؛ لم تعد الرموز السابقة صالحة</numerusform>
            <numerusform>تم إنشاء رمز استرداد جديد واحد؛ لم تعد الرموز السابقة صالحة</numerusform>
            <numerusform>تم إنشاء رمزَي استرداد جديدين؛ لم تعد الرموز السابقة صالحة</numerusform>
            <numerusform>تم إنشاء {n} رموز استرداد جديدة؛ لم تعد الرموز السابقة صالحة</numerusform>
            <numerusform>تم إنشاء {n} رمز استرداد جديدًا؛ لم تعد الرموز السابقة صالحة</numerusform>
            <numerusform>تم إنشاء {n} رمز استرداد جديد؛ لم تعد الرموز السابقة صالحة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} new recovery code made</source>
        <comment>{n} new recovery codes made</comment>
        <translation>
            <numerusform>تم إنشاء {n} رمز استرداد جديد</numerusform>
            <numerusform>تم إنشاء رمز استرداد جديد واحد</numerusform>
            <numerusform>تم إنشاء رمزَي استرداد جديدين</numerusform>
            <numerusform>تم إنشاء {n} رموز استرداد جديدة</numerusform>
            <numerusform>تم إنشاء {n} رمز استرداد جديدًا</numerusform>
            <numerusform>تم إنشاء {n} رمز استرداد جديد</numerusform>
        </translation>
    </message>
    <message>
        <source>system</source>
        <translation>النظام</translation>
    </message>
    <message>
        <source>erased address</source>
        <translation>عنوان ممحو</translation>
    </message>
    <message>
        <source>deleted account #{number}</source>
        <translation>الحساب المحذوف #{number}</translation>
    </message>
    <message>
        <source>deleted own account #{number}</source>
        <translation>الحساب #{number} الذي حذفه صاحبه</translation>
    </message>
    <message numerus="yes">
        <source>{n} users (change #{change})</source>
        <comment>{n} users (change #{change})</comment>
        <translation>
            <numerusform>{n} مستخدم (التغيير #{change})</numerusform>
            <numerusform>مستخدم واحد (التغيير #{change})</numerusform>
            <numerusform>مستخدمان (التغيير #{change})</numerusform>
            <numerusform>{n} مستخدمين (التغيير #{change})</numerusform>
            <numerusform>{n} مستخدمًا (التغيير #{change})</numerusform>
            <numerusform>{n} مستخدم (التغيير #{change})</numerusform>
        </translation>
    </message>
    <message>
        <source>first administrator</source>
        <translation>المسؤول الأول</translation>
    </message>
    <message>
        <source>self-registration</source>
        <translation>التسجيل الذاتي</translation>
    </message>
    <message>
        <source>wrong current password</source>
        <translation>كلمة مرور حالية خاطئة</translation>
    </message>
    <message>
        <source>wrong password or code</source>
        <translation>كلمة مرور أو رمز خاطئ</translation>
    </message>
    <message>
        <source>wrong or reused code</source>
        <translation>رمز خاطئ أو مستخدَم من قبل</translation>
    </message>
    <message>
        <source>wrong recovery code</source>
        <translation>رمز استرداد خاطئ</translation>
    </message>
    <message>
        <source>replaced the earlier codes</source>
        <translation>حلّت محلّ الرموز السابقة</translation>
    </message>
    <message>
        <source>created by {who} with a temporary password</source>
        <translation>أنشأه {who} بكلمة مرور مؤقتة</translation>
    </message>
    <message>
        <source>created by {who}</source>
        <translation>أنشأه {who}</translation>
    </message>
    <message>
        <source>imported from a CSV file by {who}</source>
        <translation>استورده {who} من ملف CSV</translation>
    </message>
    <message numerus="yes">
        <source>imported {n} accounts from a CSV file</source>
        <comment>imported {n} accounts from a CSV file</comment>
        <translation>
            <numerusform>تم استيراد {n} حساب من ملف CSV</numerusform>
            <numerusform>تم استيراد حساب واحد من ملف CSV</numerusform>
            <numerusform>تم استيراد حسابين من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حسابات من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حسابًا من ملف CSV</numerusform>
            <numerusform>تم استيراد {n} حساب من ملف CSV</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} failed attempts; lockout #{lockout}</source>
        <comment>{n} failed attempts; lockout #{lockout}</comment>
        <translation>
            <numerusform>{n} محاولة فاشلة؛ القفل #{lockout}</numerusform>
            <numerusform>محاولة فاشلة واحدة؛ القفل #{lockout}</numerusform>
            <numerusform>محاولتان فاشلتان؛ القفل #{lockout}</numerusform>
            <numerusform>{n} محاولات فاشلة؛ القفل #{lockout}</numerusform>
            <numerusform>{n} محاولة فاشلة؛ القفل #{lockout}</numerusform>
            <numerusform>{n} محاولة فاشلة؛ القفل #{lockout}</numerusform>
        </translation>
    </message>
    <message>
        <source>changed email from {old} to {new}</source>
        <translation>تم تغيير البريد الإلكتروني من {old} إلى {new}</translation>
    </message>
    <message numerus="yes">
        <source>reset own password with a recovery code ({n} left)</source>
        <comment>reset own password with a recovery code ({n} left)</comment>
        <translation>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمز)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى رمز واحد)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى رمزان)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّت {n} رموز)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمزًا)</numerusform>
            <numerusform>أعاد المستخدم تعيين كلمة مروره باستخدام رمز استرداد (تبقّى {n} رمز)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>signed in with a recovery code instead of the authenticator ({n} left)</source>
        <comment>signed in with a recovery code instead of the authenticator ({n} left)</comment>
        <translation>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمز)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى رمز واحد)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى رمزان)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّت {n} رموز)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمزًا)</numerusform>
            <numerusform>سجّل الدخول باستخدام رمز استرداد بدلًا من تطبيق المصادقة (تبقّى {n} رمز)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>address of {label} erased from {n} audit entries</source>
        <comment>address of {label} erased from {n} audit entries</comment>
        <translation>
            <numerusform>تم محو عنوان {label} من {n} إدخال في السجل</numerusform>
            <numerusform>تم محو عنوان {label} من إدخال واحد في السجل</numerusform>
            <numerusform>تم محو عنوان {label} من إدخالين في السجل</numerusform>
            <numerusform>تم محو عنوان {label} من {n} إدخالات في السجل</numerusform>
            <numerusform>تم محو عنوان {label} من {n} إدخالًا في السجل</numerusform>
            <numerusform>تم محو عنوان {label} من {n} إدخال في السجل</numerusform>
        </translation>
    </message>
    <message>
        <source>{label}, was {address}</source>
        <translation>{label}، وكان عنوانه {address}</translation>
    </message>
    <message>
        <source>{label}, address erased</source>
        <translation>{label}، وقد مُحي عنوانه</translation>
    </message>
    <message numerus="yes">
        <source>{n} unfinished change of many users follow</source>
        <comment>{n} unfinished changes of many users follow</comment>
        <translation>
            <numerusform>يلي ذلك {n} تغيير جماعي غير مكتمل للمستخدمين</numerusform>
            <numerusform>يلي ذلك تغيير جماعي واحد غير مكتمل للمستخدمين</numerusform>
            <numerusform>يلي ذلك تغييران جماعيان غير مكتملين للمستخدمين</numerusform>
            <numerusform>تلي ذلك {n} تغييرات جماعية غير مكتملة للمستخدمين</numerusform>
            <numerusform>يلي ذلك {n} تغييرًا جماعيًا غير مكتمل للمستخدمين</numerusform>
            <numerusform>يلي ذلك {n} تغيير جماعي غير مكتمل للمستخدمين</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkChange</name>
    <message>
        <source>Choose a role or whether the accounts are active.</source>
        <translation>اختر دورًا أو حدّد ما إذا كانت الحسابات نشطة.</translation>
    </message>
    <message>
        <source>There is no bulk change #{id}.</source>
        <translation>لا يوجد تغيير جماعي برقم #{id}.</translation>
    </message>
    <message>
        <source>activate</source>
        <translation>تفعيل</translation>
    </message>
    <message>
        <source>deactivate</source>
        <translation>تعطيل</translation>
    </message>
    <message>
        <source>role → {role}</source>
        <translation>الدور ← {role}</translation>
    </message>
    <message>
        <source>role → {role}, activate</source>
        <translation>الدور ← {role}، تفعيل</translation>
    </message>
    <message>
        <source>role → {role}, deactivate</source>
        <translation>الدور ← {role}، تعطيل</translation>
    </message>
    <message numerus="yes">
        <source>No change for {n} selected user</source>
        <comment>No change for {n} selected users</comment>
        <translation>
            <numerusform>لا تغيير لـ{n} مستخدم محدد</numerusform>
            <numerusform>لا تغيير لمستخدم واحد محدد</numerusform>
            <numerusform>لا تغيير لمستخدمَين محددَين</numerusform>
            <numerusform>لا تغيير لـ{n} مستخدمين محددين</numerusform>
            <numerusform>لا تغيير لـ{n} مستخدمًا محددًا</numerusform>
            <numerusform>لا تغيير لـ{n} مستخدم محدد</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>activate for {n} selected user</source>
        <comment>activate for {n} selected users</comment>
        <translation>
            <numerusform>تفعيل {n} مستخدم محدد</numerusform>
            <numerusform>تفعيل مستخدم واحد محدد</numerusform>
            <numerusform>تفعيل مستخدمَين محددَين</numerusform>
            <numerusform>تفعيل {n} مستخدمين محددين</numerusform>
            <numerusform>تفعيل {n} مستخدمًا محددًا</numerusform>
            <numerusform>تفعيل {n} مستخدم محدد</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>deactivate for {n} selected user</source>
        <comment>deactivate for {n} selected users</comment>
        <translation>
            <numerusform>تعطيل {n} مستخدم محدد</numerusform>
            <numerusform>تعطيل مستخدم واحد محدد</numerusform>
            <numerusform>تعطيل مستخدمَين محددَين</numerusform>
            <numerusform>تعطيل {n} مستخدمين محددين</numerusform>
            <numerusform>تعطيل {n} مستخدمًا محددًا</numerusform>
            <numerusform>تعطيل {n} مستخدم محدد</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role} for {n} selected user</source>
        <comment>role → {role} for {n} selected users</comment>
        <translation>
            <numerusform>الدور ← {role} لـ{n} مستخدم محدد</numerusform>
            <numerusform>الدور ← {role} لمستخدم واحد محدد</numerusform>
            <numerusform>الدور ← {role} لمستخدمَين محددَين</numerusform>
            <numerusform>الدور ← {role} لـ{n} مستخدمين محددين</numerusform>
            <numerusform>الدور ← {role} لـ{n} مستخدمًا محددًا</numerusform>
            <numerusform>الدور ← {role} لـ{n} مستخدم محدد</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, activate for {n} selected user</source>
        <comment>role → {role}, activate for {n} selected users</comment>
        <translation>
            <numerusform>الدور ← {role}، تفعيل {n} مستخدم محدد</numerusform>
            <numerusform>الدور ← {role}، تفعيل مستخدم واحد محدد</numerusform>
            <numerusform>الدور ← {role}، تفعيل مستخدمَين محددَين</numerusform>
            <numerusform>الدور ← {role}، تفعيل {n} مستخدمين محددين</numerusform>
            <numerusform>الدور ← {role}، تفعيل {n} مستخدمًا محددًا</numerusform>
            <numerusform>الدور ← {role}، تفعيل {n} مستخدم محدد</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>role → {role}, deactivate for {n} selected user</source>
        <comment>role → {role}, deactivate for {n} selected users</comment>
        <translation>
            <numerusform>الدور ← {role}، تعطيل {n} مستخدم محدد</numerusform>
            <numerusform>الدور ← {role}، تعطيل مستخدم واحد محدد</numerusform>
            <numerusform>الدور ← {role}، تعطيل مستخدمَين محددَين</numerusform>
            <numerusform>الدور ← {role}، تعطيل {n} مستخدمين محددين</numerusform>
            <numerusform>الدور ← {role}، تعطيل {n} مستخدمًا محددًا</numerusform>
            <numerusform>الدور ← {role}، تعطيل {n} مستخدم محدد</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BulkFlow</name>
    <message numerus="yes">
        <source>Stopped: changed {n} user of {total}; the others are as they were.</source>
        <comment>Stopped: changed {n} users of {total}; the others are as they were.</comment>
        <translation>
            <numerusform>تم الإيقاف: تم تغيير {n} مستخدم من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
            <numerusform>تم الإيقاف: تم تغيير مستخدم واحد من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
            <numerusform>تم الإيقاف: تم تغيير مستخدمَين من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
            <numerusform>تم الإيقاف: تم تغيير {n} مستخدمين من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
            <numerusform>تم الإيقاف: تم تغيير {n} مستخدمًا من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
            <numerusform>تم الإيقاف: تم تغيير {n} مستخدم من أصل {total}؛ وبقي الآخرون كما كانوا.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Changed {n} user ({change}).</source>
        <comment>Changed {n} users ({change}).</comment>
        <translation>
            <numerusform>تم تغيير {n} مستخدم ({change}).</numerusform>
            <numerusform>تم تغيير مستخدم واحد ({change}).</numerusform>
            <numerusform>تم تغيير مستخدمَين ({change}).</numerusform>
            <numerusform>تم تغيير {n} مستخدمين ({change}).</numerusform>
            <numerusform>تم تغيير {n} مستخدمًا ({change}).</numerusform>
            <numerusform>تم تغيير {n} مستخدم ({change}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{emails} and {n} more</source>
        <comment>{emails} and {n} more</comment>
        <translation>
            <numerusform>{emails} و{n} عنوان آخر</numerusform>
            <numerusform>{emails} وعنوان آخر</numerusform>
            <numerusform>{emails} وعنوانان آخران</numerusform>
            <numerusform>{emails} و{n} عناوين أخرى</numerusform>
            <numerusform>{emails} و{n} عنوانًا آخر</numerusform>
            <numerusform>{emails} و{n} عنوان آخر</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} user was left alone because someone else changed them after you selected them: {emails}. Review them and try again.</source>
        <comment>{n} users were left alone because someone else changed them after you selected them: {emails}. Review them and try again.</comment>
        <translation>
            <numerusform>تُرك {n} مستخدم دون تغيير لأن شخصًا آخر غيّرهم بعد أن حددتهم: {emails}. راجعهم وحاول مرة أخرى.</numerusform>
            <numerusform>تُرك مستخدم واحد دون تغيير لأن شخصًا آخر غيّره بعد أن حددته: {emails}. راجعه وحاول مرة أخرى.</numerusform>
            <numerusform>تُرك مستخدمان دون تغيير لأن شخصًا آخر غيّرهما بعد أن حددتهما: {emails}. راجعهما وحاول مرة أخرى.</numerusform>
            <numerusform>تُرك {n} مستخدمين دون تغيير لأن شخصًا آخر غيّرهم بعد أن حددتهم: {emails}. راجعهم وحاول مرة أخرى.</numerusform>
            <numerusform>تُرك {n} مستخدمًا دون تغيير لأن شخصًا آخر غيّرهم بعد أن حددتهم: {emails}. راجعهم وحاول مرة أخرى.</numerusform>
            <numerusform>تُرك {n} مستخدم دون تغيير لأن شخصًا آخر غيّرهم بعد أن حددتهم: {emails}. راجعهم وحاول مرة أخرى.</numerusform>
        </translation>
    </message>
    <message>
        <source>Save or revert the unsaved change ({change}) before changing other users.</source>
        <translation>احفظ التغيير غير المحفوظ ({change}) أو تراجع عنه قبل تغيير مستخدمين آخرين.</translation>
    </message>
    <message>
        <source>None of the selected users is there any more.</source>
        <translation>لم يعد أي من المستخدمين المحددين موجودًا.</translation>
    </message>
    <message numerus="yes">
        <source>Applying {change} to {n} user…</source>
        <comment>Applying {change} to {n} users…</comment>
        <translation>
            <numerusform>جارٍ تطبيق {change} على {n} مستخدم…</numerusform>
            <numerusform>جارٍ تطبيق {change} على مستخدم واحد…</numerusform>
            <numerusform>جارٍ تطبيق {change} على مستخدمَين…</numerusform>
            <numerusform>جارٍ تطبيق {change} على {n} مستخدمين…</numerusform>
            <numerusform>جارٍ تطبيق {change} على {n} مستخدمًا…</numerusform>
            <numerusform>جارٍ تطبيق {change} على {n} مستخدم…</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>إ&amp;لغاء</translation>
    </message>
    <message>
        <source>Saving changes</source>
        <translation>جارٍ حفظ التغييرات</translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation>هل تريد إزالة دور المسؤول الخاص بك؟</translation>
    </message>
    <message>
        <source>This change takes away your own administrator role. You will lose access to this window.</source>
        <translation>يزيل هذا التغيير دور المسؤول الخاص بك. ستفقد إمكانية الوصول إلى هذه النافذة.</translation>
    </message>
    <message>
        <source>Stopping after the users being changed now…</source>
        <translation>جارٍ الإيقاف بعد الانتهاء من المستخدمين الذين يجري تغييرهم الآن…</translation>
    </message>
</context>
<context>
    <name>ChangeEmailDialog</name>
    <message>
        <source>Change email address</source>
        <translation>تغيير عنوان البريد الإلكتروني</translation>
    </message>
    <message>
        <source>You sign in as {email}. Enter the new address and your current password.</source>
        <translation>تسجّل الدخول باسم {email}. أدخل العنوان الجديد وكلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>New email address</source>
        <translation>عنوان البريد الإلكتروني الجديد</translation>
    </message>
    <message>
        <source>New &amp;email:</source>
        <translation>البريد الإلكتروني ال&amp;جديد:</translation>
    </message>
    <message>
        <source>&amp;Change email</source>
        <translation>&amp;تغيير البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter the new email address.</source>
        <translation>أدخل عنوان البريد الإلكتروني الجديد.</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Changing your email address…</source>
        <translation>جارٍ تغيير عنوان بريدك الإلكتروني…</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <source>An administrator set a temporary password. Choose your own before you continue.</source>
        <translation>عيّن المسؤول كلمة مرور مؤقتة. اختر كلمة المرور الخاصة بك قبل المتابعة.</translation>
    </message>
    <message>
        <source>Enter your current password, then the new one twice.</source>
        <translation>أدخل كلمة المرور الحالية، ثم الجديدة مرتين.</translation>
    </message>
    <message>
        <source>Change password</source>
        <translation>تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation>كلمة المرور ال&amp;جديدة:</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>كلمة المرور الجديدة</translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation>تأكيد كلمة المرور الجديدة</translation>
    </message>
    <message>
        <source>&amp;Change password</source>
        <translation>&amp;تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>تسجيل الخروج</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation>أدخل كلمة مرور جديدة.</translation>
    </message>
    <message>
        <source>Changing your password…</source>
        <translation>جارٍ تغيير كلمة المرور…</translation>
    </message>
</context>
<context>
    <name>Config</name>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY is not a key: it must be 32 random bytes in url-safe base64 (44 characters), as `desktop-auth 2fa new-key` prints</source>
        <translation>قيمة DESKTOP_AUTH_TOTP_KEY ليست مفتاحًا: يجب أن تكون 32 بايتًا عشوائيًا بترميز base64 الآمن لعناوين URL (44 حرفًا)، كما يطبعها الأمر `desktop-auth 2fa new-key`</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is not a werkzeug method (expected e.g. 'scrypt:131072:8:1' or 'pbkdf2:sha256:600000')</source>
        <translation>قيمة DESKTOP_AUTH_HASH_METHOD '{method}' ليست طريقة تجزئة في werkzeug (المتوقع مثلًا 'scrypt:131072:8:1' أو 'pbkdf2:sha256:600000')</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}' is weaker than the minimum this app accepts (scrypt:131072:8:1, or pbkdf2:sha256:600000 which is as strong); choose a stronger method</source>
        <translation>طريقة DESKTOP_AUTH_HASH_METHOD '{method}' أضعف من الحد الأدنى الذي يقبله هذا التطبيق (scrypt:131072:8:1، أو pbkdf2:sha256:600000 المكافئة لها في القوة)؛ اختر طريقة أقوى</translation>
    </message>
    <message>
        <source>{name} must be at least {minimum}, got {value}</source>
        <translation>يجب ألا تقل قيمة {name} عن {minimum}، والقيمة المعطاة {value}</translation>
    </message>
    <message>
        <source>{name} must be at most {maximum}, got {value}</source>
        <translation>يجب ألا تزيد قيمة {name} على {maximum}، والقيمة المعطاة {value}</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_HASH_METHOD '{method}': scrypt's N must be a power of two</source>
        <translation>DESKTOP_AUTH_HASH_METHOD '{method}': يجب أن تكون قيمة N في scrypt قوةً للعدد اثنين</translation>
    </message>
    <message>
        <source>{source} names '{path}', which does not exist</source>
        <translation>يشير {source} إلى '{path}'، وهو غير موجود</translation>
    </message>
    <message>
        <source>{source} names '{path}', which is not UTF-8 text</source>
        <translation>يشير {source} إلى '{path}'، وهو ليس نصًا بترميز UTF-8</translation>
    </message>
    <message>
        <source>{source} names '{path}', which cannot be read ({reason})</source>
        <translation>يشير {source} إلى '{path}'، ولا يمكن قراءته ({reason})</translation>
    </message>
    <message>
        <source>{source} names '{path}', whose first line is empty; it should hold the database URL</source>
        <translation>يشير {source} إلى '{path}'، وسطره الأول فارغ؛ يجب أن يحتوي على عنوان URL لقاعدة البيانات</translation>
    </message>
    <message>
        <source>{name} must be 1 or 0, got '{value}'</source>
        <translation>يجب أن تكون قيمة {name} 1 أو 0، والقيمة المعطاة '{value}'</translation>
    </message>
    <message>
        <source>{name} must be a whole number, got '{value}'</source>
        <translation>يجب أن تكون قيمة {name} عددًا صحيحًا، والقيمة المعطاة '{value}'</translation>
    </message>
</context>
<context>
    <name>CreateUserDialog</name>
    <message>
        <source>Create user</source>
        <translation>إنشاء مستخدم</translation>
    </message>
    <message>
        <source>The account gets a random temporary password, shown to you once here. The person must change it at their first sign-in.</source>
        <translation>يحصل الحساب على كلمة مرور مؤقتة عشوائية تُعرض لك هنا مرة واحدة. يجب على الشخص تغييرها عند أول تسجيل دخول له.</translation>
    </message>
    <message>
        <source>&amp;Email address:</source>
        <translation>&amp;عنوان البريد الإلكتروني:</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>الدور</translation>
    </message>
    <message>
        <source>&amp;Role:</source>
        <translation>ال&amp;دور:</translation>
    </message>
    <message>
        <source>&amp;Create user</source>
        <translation>إ&amp;نشاء المستخدم</translation>
    </message>
    <message>
        <source>Create the user</source>
        <translation>إنشاء المستخدم</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter an email address.</source>
        <translation>أدخل عنوان بريد إلكتروني.</translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation>جارٍ إنشاء الحساب…</translation>
    </message>
    <message>
        <source>User created</source>
        <translation>تم إنشاء المستخدم</translation>
    </message>
    <message>
        <source>{email} can sign in with this temporary password until {expires} and must then choose their own. It is shown only now: copy it before you close this window.</source>
        <translation>يمكن لـ {email} تسجيل الدخول بكلمة المرور المؤقتة هذه حتى {expires}، وبعدها يجب اختيار كلمة مرور خاصة. لا تُعرض إلا الآن: انسخها قبل إغلاق هذه النافذة.</translation>
    </message>
    <message>
        <source>Temporary password for {email}</source>
        <translation>كلمة المرور المؤقتة لـ {email}</translation>
    </message>
    <message>
        <source>Temporary &amp;password:</source>
        <translation>&amp;كلمة المرور المؤقتة:</translation>
    </message>
    <message>
        <source>C&amp;opy password</source>
        <translation>نس&amp;خ كلمة المرور</translation>
    </message>
    <message>
        <source>Copy the temporary password</source>
        <translation>نسخ كلمة المرور المؤقتة</translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>إ&amp;غلاق</translation>
    </message>
    <message>
        <source>Close and forget the password</source>
        <translation>إغلاق ونسيان كلمة المرور</translation>
    </message>
    <message>
        <source>User created: {email}. The temporary password is shown once.</source>
        <translation>تم إنشاء المستخدم: {email}. تُعرض كلمة المرور المؤقتة مرة واحدة.</translation>
    </message>
    <message>
        <source>Copied the temporary password.</source>
        <translation>تم نسخ كلمة المرور المؤقتة.</translation>
    </message>
</context>
<context>
    <name>DatabaseErrors</name>
    <message>
        <source>DATABASE_URL '{url}' cannot be used: {detail}</source>
        <translation>لا يمكن استخدام DATABASE_URL '{url}': {detail}</translation>
    </message>
    <message>
        <source>The database is busy with another client; please try again.</source>
        <translation>قاعدة البيانات مشغولة بعميل آخر؛ يُرجى المحاولة مرة أخرى.</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server signs in with caching_sha2_password or sha256_password, which needs the 'cryptography' package; reinstall desktop-auth (it depends on PyMySQL[rsa])</source>
        <translation>قاعدة البيانات غير متاحة ({location}): يسجّل الخادم الدخول باستخدام caching_sha2_password أو sha256_password، وهو ما يتطلب الحزمة 'cryptography'؛ أعد تثبيت desktop-auth (فهو يعتمد على PyMySQL[rsa])</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): connect to a host name or address that the server's certificate lists</source>
        <translation>قاعدة البيانات غير متاحة ({location}): رُفضت شهادة TLS الخاصة بالخادم (فشل التحقق من الشهادة: {reason}): اتصل باسم مضيف أو عنوان مُدرج في شهادة الخادم</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server's TLS certificate was refused (certificate verify failed: {reason}): check that ssl_ca names the CA that signed the server's certificate</source>
        <translation>قاعدة البيانات غير متاحة ({location}): رُفضت شهادة TLS الخاصة بالخادم (فشل التحقق من الشهادة: {reason}): تحقّق من أن ssl_ca يحدد المرجع المصدّق (CA) الذي وقّع شهادة الخادم</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): the server requires TLS (require_secure_transport): add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation>قاعدة البيانات غير متاحة ({location}): يتطلب الخادم TLS (require_secure_transport): أضف ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true إلى DATABASE_URL</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): TLS could not be set up with the server ({detail})</source>
        <translation>قاعدة البيانات غير متاحة ({location}): تعذّر إعداد TLS مع الخادم ({detail})</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}; this connection was not encrypted (ssl_disabled=true), which a server that requires TLS (require_secure_transport) refuses: remove ssl_disabled and add ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true to DATABASE_URL</source>
        <translation>قاعدة البيانات غير متاحة ({location}): {detail}؛ لم يكن هذا الاتصال مشفّرًا (ssl_disabled=true)، وهو ما يرفضه الخادم الذي يتطلب TLS (require_secure_transport): أزل ssl_disabled وأضف ssl_ca=/path/to/ca.pem&amp;ssl_verify_cert=true&amp;ssl_verify_identity=true إلى DATABASE_URL</translation>
    </message>
    <message>
        <source>The database is unavailable ({location}): {detail}</source>
        <translation>قاعدة البيانات غير متاحة ({location}): {detail}</translation>
    </message>
    <message>
        <source>The connection to the database was lost while saving, and the database could not be reached to find out whether the change was saved. Look before trying again.</source>
        <translation>انقطع الاتصال بقاعدة البيانات أثناء الحفظ، وتعذّر الوصول إلى قاعدة البيانات لمعرفة ما إذا كان التغيير قد حُفظ. تحقّق من ذلك قبل المحاولة مرة أخرى.</translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعتان أخريان. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعات أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعةً أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعتان أخريان. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعات أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعةً أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <translation>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعة أخرى واحدة. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعتان أخريان. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعات أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعةً أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعتان أخريان. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعات أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعةً أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{n} مجموعة أخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and 1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعة أخرى واحدة. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعتان أخريان. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعات أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعةً أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ ومجموعة أخرى واحدة. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</source>
        <comment>Cannot upgrade the database: these addresses would belong to one account once spelled as the app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.</comment>
        <translation>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعة أخرى واحدة. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ ومجموعتان أخريان. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعات أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعةً أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
            <numerusform>تتعذّر ترقية قاعدة البيانات: هذه العناوين ستصبح تابعة لحساب واحد بعد كتابتها بالطريقة التي يكتبها بها التطبيق (حالة الأحرف، وعلامات التشكيل، ونطاقات يونيكود أو Punycode): {same}؛ و{n} مجموعة أخرى. هذه العناوين أيضًا متشابهة في الشكل (أحرف يونيكود متشابهة)، ولا يُسمح بذلك للحسابات الجديدة: {alike}؛ و{alike_more} من المجموعات الأخرى. ادمج هذه الحسابات أو أعد تسميتها، ثم شغّل الترقية مرة أخرى. لم يُغيَّر أي شيء.</numerusform>
        </translation>
    </message>
    <message>
        <source>Every database connection of this client stayed busy too long; please try again.</source>
        <translation>ظلّت جميع اتصالات قاعدة البيانات الخاصة بهذا العميل مشغولة مدة طويلة جدًا؛ يُرجى المحاولة مرة أخرى.</translation>
    </message>
    <message>
        <source>The migration left rows whose foreign keys point nowhere: {rows}</source>
        <translation>خلّف الترحيل صفوفًا تشير مفاتيحها الخارجية إلى سجلات غير موجودة: {rows}</translation>
    </message>
    <message>
        <source>The database holds revision '{revision}', which this version of desktop-auth does not know, and its tables are not the tutorial's; refusing to touch it.</source>
        <translation>تحتوي قاعدة البيانات على المراجعة '{revision}' التي لا يعرفها هذا الإصدار من desktop-auth، وجداولها ليست جداول البرنامج التعليمي؛ لن يُجرى أي تعديل عليها.</translation>
    </message>
    <message>
        <source>The database schema (revision {revision}) is newer than this version of desktop-auth knows (head {head}); update the application.</source>
        <translation>مخطط قاعدة البيانات (المراجعة {revision}) أحدث مما يعرفه هذا الإصدار من desktop-auth (أحدث مراجعة معروفة {head})؛ حدّث التطبيق.</translation>
    </message>
    <message>
        <source>The database has no tables yet; run: {command}</source>
        <translation>لا تحتوي قاعدة البيانات على جداول بعد؛ شغّل: {command}</translation>
    </message>
    <message>
        <source>The database schema is out of date (revision {revision}, need {head}); run: {command}</source>
        <translation>مخطط قاعدة البيانات قديم (المراجعة {revision}، والمطلوبة {head})؛ شغّل: {command}</translation>
    </message>
    <message>
        <source>The database holds the tutorial's tables and must be adopted; run: {command}</source>
        <translation>تحتوي قاعدة البيانات على جداول البرنامج التعليمي ويجب اعتمادها؛ شغّل: {command}</translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it starts '{scheme}'; the rest is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation>تنسيق DATABASE_URL غير صحيح (يبدأ بـ '{scheme}'؛ ولا يُعرض الباقي لأنه قد يحتوي على كلمة مرور): المتوقع مثلًا 'mysql+pymysql://user:password@host/dbname' أو 'sqlite:///path/to/file.sqlite3'، مع ترميز الأحرف الخاصة في كلمة المرور بترميز النسبة المئوية (يُكتب '@' بالصيغة %40)</translation>
    </message>
    <message>
        <source>DATABASE_URL is malformed (it does not start with a scheme such as mysql+pymysql:// or sqlite:///; it is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as %40)</source>
        <translation>تنسيق DATABASE_URL غير صحيح (لا يبدأ بمخطط مثل mysql+pymysql:// أو sqlite:///؛ ولا يُعرض لأنه قد يحتوي على كلمة مرور): المتوقع مثلًا 'mysql+pymysql://user:password@host/dbname' أو 'sqlite:///path/to/file.sqlite3'، مع ترميز الأحرف الخاصة في كلمة المرور بترميز النسبة المئوية (يُكتب '@' بالصيغة %40)</translation>
    </message>
    <message>
        <source>DATABASE_URL has an unencoded '@' in its user name or password: write it as %40 ('{url}')</source>
        <translation>يحتوي DATABASE_URL على '@' غير مرمّز في اسم المستخدم أو كلمة المرور: اكتبه بالصيغة %40 ('{url}')</translation>
    </message>
    <message>
        <source>DATABASE_URL asks for the driver '{driver}', but desktop-auth ships PyMySQL: use {backend}+pymysql:// in '{url}'</source>
        <translation>يطلب DATABASE_URL برنامج التشغيل '{driver}'، لكن desktop-auth يأتي مع PyMySQL: استخدم {backend}+pymysql:// في '{url}'</translation>
    </message>
    <message>
        <source>DATABASE_URL names no database: '{url}'</source>
        <translation>لا يحدد DATABASE_URL أي قاعدة بيانات: '{url}'</translation>
    </message>
    <message>
        <source>DATABASE_URL '{url}' gives SQLite a user, password or host; a SQLite URL names a file only: 'sqlite:///path/to/file.sqlite3'</source>
        <translation>يعطي DATABASE_URL '{url}' لـ SQLite مستخدمًا أو كلمة مرور أو مضيفًا؛ عنوان URL الخاص بـ SQLite يحدد ملفًا فقط: 'sqlite:///path/to/file.sqlite3'</translation>
    </message>
    <message>
        <source>DATABASE_URL uses an unsupported database '{backend}': '{url}' (use mysql+pymysql:// or sqlite://)</source>
        <translation>يستخدم DATABASE_URL قاعدة بيانات غير مدعومة '{backend}': '{url}' (استخدم mysql+pymysql:// أو sqlite://)</translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL (for TLS use ssl_ca=/path/to/ca.pem)</source>
        <translation>لا يمكن تحديد خيار DATABASE_URL '{name}' في عنوان URL (لاستخدام TLS استخدم ssl_ca=/path/to/ca.pem)</translation>
    </message>
    <message>
        <source>DATABASE_URL option '{name}' cannot be given in the URL</source>
        <translation>لا يمكن تحديد خيار DATABASE_URL '{name}' في عنوان URL</translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'; TLS options are {options}</source>
        <translation>يحتوي DATABASE_URL على خيار لا يعرفه برنامج تشغيل MySQL: '{name}'؛ خيارات TLS هي {options}</translation>
    </message>
    <message>
        <source>DATABASE_URL has an option the MySQL driver does not know: '{name}'</source>
        <translation>يحتوي DATABASE_URL على خيار لا يعرفه برنامج تشغيل MySQL: '{name}'</translation>
    </message>
    <message>
        <source>DATABASE_URL gives the option '{name}' more than once</source>
        <translation>يحدد DATABASE_URL الخيار '{name}' أكثر من مرة</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be a whole number of at least {least}, not {value}</source>
        <translation>يجب أن تكون قيمة خيار DATABASE_URL {name} عددًا صحيحًا لا يقل عن {least}، وليس {value}</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name} must be true or false, not {value}</source>
        <translation>يجب أن تكون قيمة خيار DATABASE_URL {name} إما true أو false، وليس {value}</translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_disabled=true together with {options}: choose one</source>
        <translation>يضبط DATABASE_URL ssl_disabled=true مع {options}: اختر أحدهما</translation>
    </message>
    <message>
        <source>DATABASE_URL sets ssl_verify_identity=true but ssl_verify_cert=false: a host name is only checked in a verified certificate</source>
        <translation>يضبط DATABASE_URL ssl_verify_identity=true لكن ssl_verify_cert=false: لا يُتحقق من اسم المضيف إلا في شهادة تم التحقق منها</translation>
    </message>
    <message>
        <source>DATABASE_URL gives ssl_key without ssl_cert (the client certificate)</source>
        <translation>يحدد DATABASE_URL ssl_key دون ssl_cert (شهادة العميل)</translation>
    </message>
    <message>
        <source>DATABASE_URL option ssl_capath: '{path}' is not a folder</source>
        <translation>خيار DATABASE_URL ssl_capath: '{path}' ليس مجلدًا</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' selects no cipher this system offers</source>
        <translation>خيار DATABASE_URL {name}: '{path}' لا يحدد أي خوارزمية تشفير يوفرها هذا النظام</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: '{path}' is not a usable PEM file ({reason})</source>
        <translation>خيار DATABASE_URL {name}: '{path}' ليس ملف PEM صالحًا للاستخدام ({reason})</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: cannot read '{path}' ({reason})</source>
        <translation>خيار DATABASE_URL {name}: تتعذّر قراءة '{path}' ({reason})</translation>
    </message>
    <message>
        <source>DATABASE_URL option {name}: {detail}</source>
        <translation>خيار DATABASE_URL {name}: {detail}</translation>
    </message>
</context>
<context>
    <name>DeleteAccountDialog</name>
    <message>
        <source>Delete your account</source>
        <translation>حذف حسابك</translation>
    </message>
    <message>
        <source>This deletes the account {email} for good: you are signed out and cannot sign in with it again. Enter your current password to confirm.</source>
        <translation>سيؤدي هذا إلى حذف الحساب {email} نهائيًا: سيتم تسجيل خروجك ولن تتمكن من تسجيل الدخول به مرة أخرى. أدخل كلمة المرور الحالية للتأكيد.</translation>
    </message>
    <message>
        <source>&amp;Delete my account</source>
        <translation>&amp;حذف حسابي</translation>
    </message>
    <message>
        <source>Delete my account</source>
        <translation>حذف حسابي</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Deleting your account…</source>
        <translation>جارٍ حذف حسابك…</translation>
    </message>
</context>
<context>
    <name>DeleteUsersDialog</name>
    <message>
        <source>Delete account</source>
        <translation>حذف الحساب</translation>
    </message>
    <message>
        <source>Delete the account {email}?</source>
        <translation>هل تريد حذف الحساب {email}؟</translation>
    </message>
    <message>
        <source>Delete accounts</source>
        <translation>حذف الحسابات</translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account?</source>
        <comment>Delete {n} accounts?</comment>
        <translation>
            <numerusform>هل تريد حذف {n} حساب؟</numerusform>
            <numerusform>هل تريد حذف حساب واحد؟</numerusform>
            <numerusform>هل تريد حذف حسابين؟</numerusform>
            <numerusform>هل تريد حذف {n} حسابات؟</numerusform>
            <numerusform>هل تريد حذف {n} حسابًا؟</numerusform>
            <numerusform>هل تريد حذف {n} حساب؟</numerusform>
        </translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to it, under the address, until an operator erases it.</source>
        <translation>لا يمكن التراجع عن هذا الإجراء. يحتفظ السجل بما قام به هذا الحساب وما أُجري عليه، تحت عنوانه، إلى أن يمحوه أحد المشغّلين.</translation>
    </message>
    <message>
        <source>This cannot be undone. The history keeps what was done by and to them, under the address, until an operator erases it.</source>
        <translation>لا يمكن التراجع عن هذا الإجراء. يحتفظ السجل بما قامت به هذه الحسابات وما أُجري عليها، تحت عناوينها، إلى أن يمحوه أحد المشغّلين.</translation>
    </message>
    <message numerus="yes">
        <source>They include {named} and {n} more.</source>
        <comment>They include {named} and {n} more.</comment>
        <translation>
            <numerusform>من بينها {named} و{n} حساب آخر.</numerusform>
            <numerusform>من بينها {named} وحساب آخر.</numerusform>
            <numerusform>من بينها {named} وحسابان آخران.</numerusform>
            <numerusform>من بينها {named} و{n} حسابات أخرى.</numerusform>
            <numerusform>من بينها {named} و{n} حسابًا آخر.</numerusform>
            <numerusform>من بينها {named} و{n} حساب آخر.</numerusform>
        </translation>
    </message>
    <message>
        <source>They include {named}.</source>
        <translation>من بينها {named}.</translation>
    </message>
    <message>
        <source>It is an administrator.</source>
        <translation>هذا حساب مسؤول.</translation>
    </message>
    <message numerus="yes">
        <source>{n} of them is an administrator.</source>
        <comment>{n} of them are administrators.</comment>
        <translation>
            <numerusform>لا يوجد بينها أي مسؤول.</numerusform>
            <numerusform>من بينها مسؤول واحد.</numerusform>
            <numerusform>من بينها مسؤولان.</numerusform>
            <numerusform>من بينها {n} مسؤولين.</numerusform>
            <numerusform>من بينها {n} مسؤولًا.</numerusform>
            <numerusform>من بينها {n} مسؤول.</numerusform>
        </translation>
    </message>
    <message>
        <source>Type {answer} to confirm</source>
        <translation>اكتب {answer} للتأكيد</translation>
    </message>
    <message>
        <source>&amp;Type the address, {answer}, to confirm:</source>
        <translation>ا&amp;كتب العنوان، {answer}، للتأكيد:</translation>
    </message>
    <message>
        <source>&amp;Type the number of accounts, {answer}, to confirm:</source>
        <translation>ا&amp;كتب عدد الحسابات، {answer}، للتأكيد:</translation>
    </message>
    <message>
        <source>&amp;Delete account</source>
        <translation>&amp;حذف الحساب</translation>
    </message>
    <message>
        <source>&amp;Delete accounts</source>
        <translation>&amp;حذف الحسابات</translation>
    </message>
    <message>
        <source>Delete the account</source>
        <translation>حذف الحساب</translation>
    </message>
    <message numerus="yes">
        <source>Delete {n} account</source>
        <comment>Delete {n} accounts</comment>
        <translation>
            <numerusform>حذف {n} حساب</numerusform>
            <numerusform>حذف حساب واحد</numerusform>
            <numerusform>حذف حسابين</numerusform>
            <numerusform>حذف {n} حسابات</numerusform>
            <numerusform>حذف {n} حسابًا</numerusform>
            <numerusform>حذف {n} حساب</numerusform>
        </translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Type the address, {answer}, to confirm.</source>
        <translation>اكتب العنوان، {answer}، للتأكيد.</translation>
    </message>
    <message>
        <source>Type the number of accounts, {answer}, to confirm.</source>
        <translation>اكتب عدد الحسابات، {answer}، للتأكيد.</translation>
    </message>
    <message numerus="yes">
        <source>Deleting {n} account…</source>
        <comment>Deleting {n} accounts…</comment>
        <translation>
            <numerusform>جارٍ حذف {n} حساب…</numerusform>
            <numerusform>جارٍ حذف حساب واحد…</numerusform>
            <numerusform>جارٍ حذف حسابين…</numerusform>
            <numerusform>جارٍ حذف {n} حسابات…</numerusform>
            <numerusform>جارٍ حذف {n} حسابًا…</numerusform>
            <numerusform>جارٍ حذف {n} حساب…</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FieldError</name>
    <message>
        <source>Invalid entry: {message}</source>
        <translation>إدخال غير صالح: {message}</translation>
    </message>
    <message>
        <source>Required</source>
        <translation>مطلوب</translation>
    </message>
</context>
<context>
    <name>FilterBar</name>
    <message>
        <source>Filter by email</source>
        <translation>التصفية حسب البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Email contains…</source>
        <translation>البريد الإلكتروني يحتوي على…</translation>
    </message>
    <message>
        <source>Clear the filter</source>
        <translation>مسح عامل التصفية</translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation>&amp;تصفية:</translation>
    </message>
    <message>
        <source>Starts &amp;with</source>
        <translation>يبدأ &amp;بـ</translation>
    </message>
    <message>
        <source>Match only the start of the address</source>
        <translation>مطابقة بداية العنوان فقط</translation>
    </message>
    <message>
        <source>Match the start of the address (fastest on very large tables)</source>
        <translation>مطابقة بداية العنوان (الأسرع في الجداول الكبيرة جدًا)</translation>
    </message>
    <message>
        <source>Show role</source>
        <translation>عرض الدور</translation>
    </message>
    <message>
        <source>Ro&amp;le:</source>
        <translation>ال&amp;دور:</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>تحديث</translation>
    </message>
    <message>
        <source>Reload from the database (F5)</source>
        <translation>إعادة التحميل من قاعدة البيانات (F5)</translation>
    </message>
    <message>
        <source>All roles</source>
        <translation>جميع الأدوار</translation>
    </message>
</context>
<context>
    <name>FormDialog</name>
    <message>
        <source>desktop-auth logo</source>
        <translation>شعار desktop-auth</translation>
    </message>
    <message>
        <source>Working</source>
        <translation>جارٍ العمل</translation>
    </message>
    <message>
        <source>S&amp;how password</source>
        <translation>إ&amp;ظهار كلمة المرور</translation>
    </message>
    <message>
        <source>S&amp;how passwords</source>
        <translation>إ&amp;ظهار كلمات المرور</translation>
    </message>
    <message numerus="yes">
        <source>At least {n} character</source>
        <comment>At least {n} characters</comment>
        <translation>
            <numerusform>{n} حرف على الأقل</numerusform>
            <numerusform>حرف واحد على الأقل</numerusform>
            <numerusform>حرفان على الأقل</numerusform>
            <numerusform>{n} أحرف على الأقل</numerusform>
            <numerusform>{n} حرفًا على الأقل</numerusform>
            <numerusform>{n} حرف على الأقل</numerusform>
        </translation>
    </message>
    <message>
        <source>Confirm password</source>
        <translation>تأكيد كلمة المرور</translation>
    </message>
    <message>
        <source>C&amp;onfirm:</source>
        <translation>ت&amp;أكيد:</translation>
    </message>
</context>
<context>
    <name>HistoryTab</name>
    <message>
        <source>When</source>
        <translation>الوقت</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>المنفِّذ</translation>
    </message>
    <message>
        <source>Account / item</source>
        <translation>الحساب / العنصر</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>ما حدث</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>التفاصيل</translation>
    </message>
    <message>
        <source>Audit history</source>
        <translation>سجل التدقيق</translation>
    </message>
    <message>
        <source>Filter the history</source>
        <translation>تصفية السجل</translation>
    </message>
    <message>
        <source>Who, whom or what…</source>
        <translation>المنفِّذ أو المستهدَف أو العنصر…</translation>
    </message>
    <message>
        <source>Fil&amp;ter:</source>
        <translation>&amp;تصفية:</translation>
    </message>
    <message>
        <source>Load &amp;older</source>
        <translation>تحميل الأ&amp;قدم</translation>
    </message>
    <message>
        <source>Load older entries</source>
        <translation>تحميل الإدخالات الأقدم</translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation>ت&amp;صدير CSV…</translation>
    </message>
    <message>
        <source>Export the history to CSV</source>
        <translation>تصدير السجل إلى CSV</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} history row to {path}</source>
        <comment>Exported {n} history rows to {path}</comment>
        <translation>
            <numerusform>تم تصدير {n} صف من السجل إلى {path}</numerusform>
            <numerusform>تم تصدير صف واحد من السجل إلى {path}</numerusform>
            <numerusform>تم تصدير صفين من السجل إلى {path}</numerusform>
            <numerusform>تم تصدير {n} صفوف من السجل إلى {path}</numerusform>
            <numerusform>تم تصدير {n} صفًا من السجل إلى {path}</numerusform>
            <numerusform>تم تصدير {n} صف من السجل إلى {path}</numerusform>
        </translation>
    </message>
    <message>
        <source>Export history</source>
        <translation>تصدير السجل</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>ملفات CSV</translation>
    </message>
</context>
<context>
    <name>Identity</name>
    <message>
        <source>Enter an email address.</source>
        <translation>أدخل عنوان بريد إلكتروني.</translation>
    </message>
    <message>
        <source>An email address cannot contain spaces.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على مسافات.</translation>
    </message>
    <message numerus="yes">
        <source>An email address has at most {n} character.</source>
        <comment>An email address has at most {n} characters.</comment>
        <translation>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من {n} حرف على الأكثر.</numerusform>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من حرف واحد على الأكثر.</numerusform>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من حرفين على الأكثر.</numerusform>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من {n} أحرف على الأكثر.</numerusform>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من {n} حرفًا على الأكثر.</numerusform>
            <numerusform>يتكوّن عنوان البريد الإلكتروني من {n} حرف على الأكثر.</numerusform>
        </translation>
    </message>
    <message>
        <source>An email address must have an @-sign.</source>
        <translation>يجب أن يحتوي عنوان البريد الإلكتروني على العلامة @.</translation>
    </message>
    <message>
        <source>The email address has the "full-width" at-sign (@) character instead of a regular at-sign.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على العلامة @ "كاملة العرض" (@) بدلًا من العلامة @ العادية.</translation>
    </message>
    <message>
        <source>The email address has the "small commercial at" character instead of a regular at-sign.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على الحرف "@ التجارية الصغيرة" بدلًا من العلامة @ العادية.</translation>
    </message>
    <message>
        <source>There must be something before the @-sign.</source>
        <translation>يجب أن يوجد شيء قبل العلامة @.</translation>
    </message>
    <message>
        <source>There must be something after the @-sign.</source>
        <translation>يجب أن يوجد شيء بعد العلامة @.</translation>
    </message>
    <message>
        <source>An email address cannot have two periods in a row.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على نقطتين متتاليتين.</translation>
    </message>
    <message>
        <source>An email address cannot have a period and a hyphen next to each other.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على نقطة وشرطة متجاورتين.</translation>
    </message>
    <message>
        <source>An email address cannot start with a period.</source>
        <translation>لا يمكن أن يبدأ عنوان البريد الإلكتروني بنقطة.</translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately before the @-sign.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على نقطة قبل العلامة @ مباشرةً.</translation>
    </message>
    <message>
        <source>An email address cannot have a period immediately after the @-sign.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على نقطة بعد العلامة @ مباشرةً.</translation>
    </message>
    <message>
        <source>An email address cannot have a hyphen immediately after the @-sign.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على شرطة بعد العلامة @ مباشرةً.</translation>
    </message>
    <message>
        <source>An email address cannot end with a period.</source>
        <translation>لا يمكن أن ينتهي عنوان البريد الإلكتروني بنقطة.</translation>
    </message>
    <message>
        <source>An email address cannot end with a hyphen.</source>
        <translation>لا يمكن أن ينتهي عنوان البريد الإلكتروني بشرطة.</translation>
    </message>
    <message>
        <source>An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.</source>
        <translation>لا يمكن أن يحتوي عنوان البريد الإلكتروني على حرفين تليهما شرطتان مباشرةً بعد العلامة @ أو بعد نقطة، باستثناء Punycode.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It should have a period.</source>
        <translation>الجزء الذي يلي العلامة @ غير صالح. يجب أن يحتوي على نقطة.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not valid. It is not within a valid top-level domain.</source>
        <translation>الجزء الذي يلي العلامة @ غير صالح. فهو لا يقع ضمن نطاق صالح من المستوى الأعلى.</translation>
    </message>
    <message>
        <source>The part after the @-sign is a special-use or reserved name that cannot be used with email.</source>
        <translation>الجزء الذي يلي العلامة @ اسم مخصص لاستخدام خاص أو محجوز، ولا يمكن استخدامه مع البريد الإلكتروني.</translation>
    </message>
    <message>
        <source>A bracketed IP address after the @-sign is not allowed here.</source>
        <translation>لا يُسمح هنا بعنوان IP بين قوسين معقوفين بعد العلامة @.</translation>
    </message>
    <message>
        <source>A display name and angle brackets around the email address are not permitted here.</source>
        <translation>لا يُسمح هنا باسم عرض وبأقواس زاوية حول عنوان البريد الإلكتروني.</translation>
    </message>
    <message>
        <source>Quoting the part before the @-sign is not allowed here.</source>
        <translation>لا يُسمح هنا بوضع الجزء الذي يسبق العلامة @ بين علامتي اقتباس.</translation>
    </message>
    <message>
        <source>The email address contains an invalid character.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على حرف غير صالح.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على أحرف غير صالحة قبل العلامة @.</translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported.</source>
        <translation>الأحرف الدولية قبل العلامة @ غير مدعومة.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters after the @-sign after IDNA encoding.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على أحرف غير صالحة بعد العلامة @ بعد ترميز IDNA.</translation>
    </message>
    <message>
        <source>There can't be anything after the email address.</source>
        <translation>لا يمكن أن يوجد أي شيء بعد عنوان البريد الإلكتروني.</translation>
    </message>
    <message>
        <source>An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end.</source>
        <translation>يجب أن يلي قوسَ الزاوية المفتوح في بداية عنوان البريد الإلكتروني قوسُ زاوية مغلق في نهايته.</translation>
    </message>
    <message>
        <source>The email address is not valid ASCII.</source>
        <translation>عنوان البريد الإلكتروني ليس نص ASCII صالحًا.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters before the @-sign: {characters}.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على أحرف غير صالحة قبل العلامة @: {characters}.</translation>
    </message>
    <message>
        <source>The email address contains invalid characters in quotes before the @-sign: {characters}.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على أحرف غير صالحة بين علامتي الاقتباس قبل العلامة @: {characters}.</translation>
    </message>
    <message>
        <source>Internationalized characters before the @-sign are not supported: {characters}.</source>
        <translation>الأحرف الدولية قبل العلامة @ غير مدعومة: {characters}.</translation>
    </message>
    <message>
        <source>The email address contains unsafe characters: {characters}.</source>
        <translation>يحتوي عنوان البريد الإلكتروني على أحرف غير آمنة: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters after Unicode normalization: {characters}.</source>
        <translation>يحتوي الجزء الذي يلي العلامة @ على أحرف غير صالحة بعد توحيد يونيكود: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters in brackets: {characters}.</source>
        <translation>يحتوي الجزء الذي يلي العلامة @ على أحرف غير صالحة بين الأقواس المعقوفة: {characters}.</translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters: {characters}.</source>
        <translation>يحتوي الجزء الذي يلي العلامة @ على أحرف غير صالحة: {characters}.</translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} byte too many after IDNA encoding).</source>
        <comment>The email address is too long after the @-sign ({n} bytes too many after IDNA encoding).</comment>
        <translation>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} بايت بعد ترميز IDNA).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة بايت واحد بعد ترميز IDNA).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة بايتين بعد ترميز IDNA).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} بايتات بعد ترميز IDNA).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} بايتًا بعد ترميز IDNA).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} بايت بعد ترميز IDNA).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long before the @-sign ({n} character too many).</source>
        <comment>The email address is too long before the @-sign ({n} characters too many).</comment>
        <translation>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة {n} حرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة حرف واحد).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة حرفين).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة {n} أحرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة {n} حرفًا).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا قبل العلامة @ (بزيادة {n} حرف).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long after the @-sign ({n} character too many).</source>
        <comment>The email address is too long after the @-sign ({n} characters too many).</comment>
        <translation>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} حرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة حرف واحد).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة حرفين).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} أحرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} حرفًا).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا بعد العلامة @ (بزيادة {n} حرف).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The email address is too long ({n} character too many).</source>
        <comment>The email address is too long ({n} characters too many).</comment>
        <translation>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة {n} حرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة حرف واحد).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة حرفين).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة {n} أحرف).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة {n} حرفًا).</numerusform>
            <numerusform>عنوان البريد الإلكتروني طويل جدًا (بزيادة {n} حرف).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>After the @-sign, periods cannot be separated by so many characters ({n} character too many).</source>
        <comment>After the @-sign, periods cannot be separated by so many characters ({n} characters too many).</comment>
        <translation>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة {n} حرف).</numerusform>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة حرف واحد).</numerusform>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة حرفين).</numerusform>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة {n} أحرف).</numerusform>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة {n} حرفًا).</numerusform>
            <numerusform>بعد العلامة @، لا يمكن أن يفصل بين النقاط هذا العدد الكبير من الأحرف (بزيادة {n} حرف).</numerusform>
        </translation>
    </message>
    <message>
        <source>The part after the @-sign contains invalid characters.</source>
        <translation>يحتوي الجزء الذي يلي العلامة @ على أحرف غير صالحة.</translation>
    </message>
    <message>
        <source>The part after the @-sign is not a valid domain name or address.</source>
        <translation>الجزء الذي يلي العلامة @ ليس اسم نطاق أو عنوانًا صالحًا.</translation>
    </message>
    <message>
        <source>This is not a valid email address.</source>
        <translation>هذا ليس عنوان بريد إلكتروني صالحًا.</translation>
    </message>
</context>
<context>
    <name>ImportPreviewModel</name>
    <message>
        <source>OK</source>
        <translation>موافق</translation>
    </message>
    <message>
        <source>line {line}, has problems</source>
        <translation>السطر {line}، به مشكلات</translation>
    </message>
    <message>
        <source>line {line}, no problems</source>
        <translation>السطر {line}، بلا مشكلات</translation>
    </message>
    <message>
        <source>Line</source>
        <translation>السطر</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>الدور</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>المشكلات</translation>
    </message>
</context>
<context>
    <name>ImportUsersDialog</name>
    <message>
        <source>Import users</source>
        <translation>استيراد المستخدمين</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>ملفات CSV</translation>
    </message>
    <message>
        <source>All files</source>
        <translation>جميع الملفات</translation>
    </message>
    <message>
        <source>Save the temporary passwords</source>
        <translation>حفظ كلمات المرور المؤقتة</translation>
    </message>
    <message>
        <source>Create many accounts at once from a CSV file; each gets its own temporary password.</source>
        <translation>أنشئ حسابات كثيرة دفعة واحدة من ملف CSV؛ ويحصل كل حساب على كلمة مرور مؤقتة خاصة به.</translation>
    </message>
    <message>
        <source>The file is UTF-8 text whose first line names the columns: {columns} ({role_column} may be left out; then the role is {default_role}). At most {rows} rows. Every row is checked first; nothing is imported until no row has a problem, and then all of them are, or none.</source>
        <translation>الملف نص بترميز UTF-8 يحدد سطره الأول أسماء الأعمدة: {columns} (يمكن حذف العمود {role_column}؛ وعندئذٍ يكون الدور {default_role}). الحد الأقصى لعدد الصفوف: {rows}. يُفحص كل صف أولًا؛ ولا يُستورد شيء ما دام في أي صف مشكلة، وعندئذٍ تُستورد جميع الصفوف أو لا يُستورد أي منها.</translation>
    </message>
    <message>
        <source>&amp;Choose file…</source>
        <translation>ا&amp;ختيار ملف…</translation>
    </message>
    <message>
        <source>Choose the CSV file to import</source>
        <translation>اختر ملف CSV المراد استيراده</translation>
    </message>
    <message>
        <source>No file chosen.</source>
        <translation>لم يتم اختيار أي ملف.</translation>
    </message>
    <message>
        <source>Rows of the file</source>
        <translation>صفوف الملف</translation>
    </message>
    <message>
        <source>&amp;Rows:</source>
        <translation>ال&amp;صفوف:</translation>
    </message>
    <message>
        <source>&amp;Only rows with problems</source>
        <translation>الصفوف التي بها م&amp;شكلات فقط</translation>
    </message>
    <message>
        <source>Show only the rows with problems</source>
        <translation>إظهار الصفوف التي بها مشكلات فقط</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>ا&amp;ستيراد</translation>
    </message>
    <message>
        <source>Import every row</source>
        <translation>استيراد جميع الصفوف</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Checking every row…</source>
        <translation>جارٍ فحص كل صف…</translation>
    </message>
    <message numerus="yes">
        <source>No problems: {n} row ready to import.</source>
        <comment>No problems: {n} rows ready to import.</comment>
        <translation>
            <numerusform>لا توجد مشكلات: يمكن استيراد {n} صف.</numerusform>
            <numerusform>لا توجد مشكلات: يمكن استيراد صف واحد.</numerusform>
            <numerusform>لا توجد مشكلات: يمكن استيراد صفين.</numerusform>
            <numerusform>لا توجد مشكلات: يمكن استيراد {n} صفوف.</numerusform>
            <numerusform>لا توجد مشكلات: يمكن استيراد {n} صفًا.</numerusform>
            <numerusform>لا توجد مشكلات: يمكن استيراد {n} صف.</numerusform>
        </translation>
    </message>
    <message>
        <source>1 of 1 row has problems.</source>
        <translation>الصف الوحيد في الملف به مشكلات.</translation>
    </message>
    <message numerus="yes">
        <source>{n} of {total} rows has problems.</source>
        <comment>{n} of {total} rows have problems.</comment>
        <translation>
            <numerusform>{n} صف من أصل {total} به مشكلات.</numerusform>
            <numerusform>صف واحد من أصل {total} به مشكلات.</numerusform>
            <numerusform>صفان من أصل {total} بهما مشكلات.</numerusform>
            <numerusform>{n} صفوف من أصل {total} بها مشكلات.</numerusform>
            <numerusform>{n} صفًا من أصل {total} بها مشكلات.</numerusform>
            <numerusform>{n} صف من أصل {total} بها مشكلات.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Importing {n} account…</source>
        <comment>Importing {n} accounts…</comment>
        <translation>
            <numerusform>جارٍ استيراد {n} حساب…</numerusform>
            <numerusform>جارٍ استيراد حساب واحد…</numerusform>
            <numerusform>جارٍ استيراد حسابين…</numerusform>
            <numerusform>جارٍ استيراد {n} حسابات…</numerusform>
            <numerusform>جارٍ استيراد {n} حسابًا…</numerusform>
            <numerusform>جارٍ استيراد {n} حساب…</numerusform>
        </translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>إ&amp;غلاق</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account.</source>
        <comment>Imported {n} accounts.</comment>
        <translation>
            <numerusform>تم استيراد {n} حساب.</numerusform>
            <numerusform>تم استيراد حساب واحد.</numerusform>
            <numerusform>تم استيراد حسابين.</numerusform>
            <numerusform>تم استيراد {n} حسابات.</numerusform>
            <numerusform>تم استيراد {n} حسابًا.</numerusform>
            <numerusform>تم استيراد {n} حساب.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Imported {n} account. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</source>
        <comment>Imported {n} accounts. Their temporary passwords are in {output} (readable only by you); each must be changed at the first sign-in and expires at {expires}.</comment>
        <translation>
            <numerusform>تم استيراد {n} حساب. كلمات المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغيير كل منها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
            <numerusform>تم استيراد حساب واحد. كلمة المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغييرها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
            <numerusform>تم استيراد حسابين. كلمات المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغيير كل منها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
            <numerusform>تم استيراد {n} حسابات. كلمات المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغيير كل منها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
            <numerusform>تم استيراد {n} حسابًا. كلمات المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغيير كل منها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
            <numerusform>تم استيراد {n} حساب. كلمات المرور المؤقتة موجودة في {output} (لا يمكن لأحد غيرك قراءته)؛ ويجب تغيير كل منها عند أول تسجيل دخول، وتنتهي صلاحيتها في {expires}.</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Save passwords…</source>
        <translation>&amp;حفظ كلمات المرور…</translation>
    </message>
    <message>
        <source>Save the temporary passwords to a file</source>
        <translation>حفظ كلمات المرور المؤقتة في ملف</translation>
    </message>
    <message>
        <source>The passwords could not be saved: {problem} Choose another place with Save passwords. If you close this window first, reset those accounts' passwords to give them new ones.</source>
        <translation>تعذّر حفظ كلمات المرور: {problem} اختر مكانًا آخر باستخدام «حفظ كلمات المرور». وإذا أغلقت هذه النافذة أولًا، فأعد تعيين كلمات مرور تلك الحسابات لمنحها كلمات مرور جديدة.</translation>
    </message>
    <message>
        <source>Saving the passwords…</source>
        <translation>جارٍ حفظ كلمات المرور…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>جارٍ الإلغاء…</translation>
    </message>
    <message>
        <source>&amp;Import CSV…</source>
        <translation>است&amp;يراد من CSV…</translation>
    </message>
    <message>
        <source>Import users from a CSV file</source>
        <translation>استيراد المستخدمين من ملف CSV</translation>
    </message>
</context>
<context>
    <name>Lifecycle</name>
    <message numerus="yes">
        <source>No account has the address {emails} and {n} more; nothing was deleted.</source>
        <comment>No account has the address {emails} and {n} more; nothing was deleted.</comment>
        <translation>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} و{n} عنوان آخر؛ لم يُحذف أي شيء.</numerusform>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} وعنوان آخر؛ لم يُحذف أي شيء.</numerusform>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} وعنوانين آخرين؛ لم يُحذف أي شيء.</numerusform>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} و{n} عناوين أخرى؛ لم يُحذف أي شيء.</numerusform>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} و{n} عنوانًا آخر؛ لم يُحذف أي شيء.</numerusform>
            <numerusform>لا يوجد أي حساب بالعناوين {emails} و{n} عنوان آخر؛ لم يُحذف أي شيء.</numerusform>
        </translation>
    </message>
    <message>
        <source>No account has the address {emails}; nothing was deleted.</source>
        <translation>لا يوجد حساب بالعنوان {emails}؛ لم يُحذف أي شيء.</translation>
    </message>
    <message>
        <source>An account still has the address {email}: delete the account first.</source>
        <translation>لا يزال هناك حساب بالعنوان {email}: احذف الحساب أولًا.</translation>
    </message>
</context>
<context>
    <name>Lists</name>
    <message>
        <source>, </source>
        <translation>، </translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Sign in</source>
        <translation>تسجيل الدخول</translation>
    </message>
    <message>
        <source>The wait is over: you can sign in again.</source>
        <translation>انتهت فترة الانتظار: يمكنك تسجيل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>Sign in to your desktop-auth account.</source>
        <translation>سجّل الدخول إلى حسابك في desktop-auth.</translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation>ال&amp;بريد الإلكتروني:</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>كلمة المرور</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>&amp;كلمة المرور:</translation>
    </message>
    <message>
        <source>&amp;Create account…</source>
        <translation>إ&amp;نشاء حساب…</translation>
    </message>
    <message>
        <source>Create account</source>
        <translation>إنشاء حساب</translation>
    </message>
    <message>
        <source>&amp;Forgot password…</source>
        <translation>ن&amp;سيت كلمة المرور…</translation>
    </message>
    <message>
        <source>Forgot password</source>
        <translation>نسيت كلمة المرور</translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation>&amp;تسجيل الدخول</translation>
    </message>
    <message>
        <source>Connecting to the database…</source>
        <translation>جارٍ الاتصال بقاعدة البيانات…</translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation>أدخل عنوان بريدك الإلكتروني.</translation>
    </message>
    <message>
        <source>Enter your password.</source>
        <translation>أدخل كلمة المرور.</translation>
    </message>
    <message>
        <source>Checking your password…</source>
        <translation>جارٍ التحقق من كلمة المرور…</translation>
    </message>
    <message numerus="yes">
        <source>Your password was changed. Sign in with the new one. You have {n} recovery code left.</source>
        <comment>Your password was changed. Sign in with the new one. You have {n} recovery codes left.</comment>
        <translation>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. لم يتبقَّ لديك أي رمز استرداد.</numerusform>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. تبقّى لديك رمز استرداد واحد.</numerusform>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. تبقّى لديك رمزا استرداد.</numerusform>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. تبقّى لديك {n} رموز استرداد.</numerusform>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. تبقّى لديك {n} رمزًا للاسترداد.</numerusform>
            <numerusform>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. تبقّى لديك {n} رمز استرداد.</numerusform>
        </translation>
    </message>
    <message>
        <source>Your password was changed. Sign in with the new one. That was your last recovery code: make new ones from your account window.</source>
        <translation>تم تغيير كلمة المرور. سجّل الدخول بكلمة المرور الجديدة. كان ذلك آخر رمز استرداد لديك: أنشئ رموزًا جديدة من نافذة حسابك.</translation>
    </message>
</context>
<context>
    <name>NewAccountDialog</name>
    <message>
        <source>&amp;Email:</source>
        <translation>ال&amp;بريد الإلكتروني:</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>&amp;كلمة المرور:</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>كلمة المرور</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation>أدخل كلمة مرور.</translation>
    </message>
    <message>
        <source>Creating the account…</source>
        <translation>جارٍ إنشاء الحساب…</translation>
    </message>
</context>
<context>
    <name>OwnAccount</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation>كلمة المرور الحالية غير صحيحة.</translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile; sign in again.</source>
        <translation>تم تغيير حسابك من مكان آخر في هذه الأثناء؛ سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>This is already your email address.</source>
        <translation>هذا هو عنوان بريدك الإلكتروني بالفعل.</translation>
    </message>
    <message>
        <source>{email} already has that address.</source>
        <translation>الحساب {email} يستخدم هذا العنوان بالفعل.</translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>لا يوجد حساب بعنوان البريد الإلكتروني {email}.</translation>
    </message>
    <message>
        <source>{email} was changed or deleted meanwhile; nothing was renamed.</source>
        <translation>تم تغيير {email} أو حذفه في هذه الأثناء؛ لم تتم إعادة تسمية أي شيء.</translation>
    </message>
</context>
<context>
    <name>OwnAccountDialog</name>
    <message>
        <source>Current password</source>
        <translation>كلمة المرور الحالية</translation>
    </message>
    <message>
        <source>C&amp;urrent password:</source>
        <translation>كلمة المرور ال&amp;حالية:</translation>
    </message>
</context>
<context>
    <name>PasswordPolicy</name>
    <message numerus="yes">
        <source>Use at least {n} character. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</source>
        <comment>Use at least {n} characters. A few unrelated words make a password that is long, strong and easy to remember. Any characters are allowed.</comment>
        <translation>
            <numerusform>استخدم {n} حرف على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
            <numerusform>استخدم حرفًا واحدًا على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
            <numerusform>استخدم حرفين على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
            <numerusform>استخدم {n} أحرف على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
            <numerusform>استخدم {n} حرفًا على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
            <numerusform>استخدم {n} حرف على الأقل. بضع كلمات لا علاقة بينها تصنع كلمة مرور طويلة وقوية وسهلة التذكر. جميع الأحرف مسموح بها.</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter a password.</source>
        <translation>أدخل كلمة مرور.</translation>
    </message>
    <message>
        <source>Use at most {maximum} characters (this has {length}).</source>
        <translation>الحد الأقصى لعدد الأحرف هو {maximum} (عدد أحرف كلمة المرور هذه {length}).</translation>
    </message>
    <message>
        <source>Remove characters that are not valid text.</source>
        <translation>أزل الأحرف التي ليست نصًا صالحًا.</translation>
    </message>
    <message>
        <source>Remove control characters such as tabs or line breaks.</source>
        <translation>أزل أحرف التحكم مثل علامات الجدولة أو فواصل الأسطر.</translation>
    </message>
    <message>
        <source>Use visible characters: this password is only spaces or invisible characters.</source>
        <translation>استخدم أحرفًا مرئية: كلمة المرور هذه مكوّنة من مسافات أو أحرف غير مرئية فقط.</translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}, not counting {hidden} invisible).</source>
        <comment>Use at least {n} characters (this has {visible}, not counting {hidden} invisible).</comment>
        <translation>
            <numerusform>استخدم {n} حرف على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
            <numerusform>استخدم حرفًا واحدًا على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
            <numerusform>استخدم حرفين على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
            <numerusform>استخدم {n} أحرف على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
            <numerusform>استخدم {n} حرفًا على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
            <numerusform>استخدم {n} حرف على الأقل (عدد الأحرف المرئية {visible}، دون احتساب {hidden} من الأحرف غير المرئية).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Use at least {n} character (this has {visible}).</source>
        <comment>Use at least {n} characters (this has {visible}).</comment>
        <translation>
            <numerusform>استخدم {n} حرف على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
            <numerusform>استخدم حرفًا واحدًا على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
            <numerusform>استخدم حرفين على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
            <numerusform>استخدم {n} أحرف على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
            <numerusform>استخدم {n} حرفًا على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
            <numerusform>استخدم {n} حرف على الأقل (عدد أحرف كلمة المرور هذه {visible}).</numerusform>
        </translation>
    </message>
    <message>
        <source>This is a commonly used password; choose another.</source>
        <translation>هذه كلمة مرور شائعة الاستخدام؛ اختر كلمة أخرى.</translation>
    </message>
    <message>
        <source>Don't build your password from your email address.</source>
        <translation>لا تبنِ كلمة المرور من عنوان بريدك الإلكتروني.</translation>
    </message>
</context>
<context>
    <name>PasswordStrength</name>
    <message>
        <source>Use a few words, avoid common phrases.</source>
        <translation>استخدم بضع كلمات، وتجنّب العبارات الشائعة.</translation>
    </message>
    <message>
        <source>No need for symbols, digits, or uppercase letters.</source>
        <translation>لا حاجة إلى الرموز أو الأرقام أو الأحرف الكبيرة.</translation>
    </message>
    <message>
        <source>Add another word or two. Uncommon words are better.</source>
        <translation>أضف كلمة أو كلمتين أخريين. الكلمات غير الشائعة أفضل.</translation>
    </message>
    <message>
        <source>Use a longer keyboard pattern with more turns.</source>
        <translation>استخدم نمط لوحة مفاتيح أطول وفيه انعطافات أكثر.</translation>
    </message>
    <message>
        <source>Avoid repeated words and characters.</source>
        <translation>تجنّب تكرار الكلمات والأحرف.</translation>
    </message>
    <message>
        <source>Avoid sequences.</source>
        <translation>تجنّب التسلسلات.</translation>
    </message>
    <message>
        <source>Avoid recent years.</source>
        <translation>تجنّب السنوات الأخيرة.</translation>
    </message>
    <message>
        <source>Avoid years that are associated with you.</source>
        <translation>تجنّب السنوات المرتبطة بك.</translation>
    </message>
    <message>
        <source>Avoid dates and years that are associated with you.</source>
        <translation>تجنّب التواريخ والسنوات المرتبطة بك.</translation>
    </message>
    <message>
        <source>Capitalization doesn't help very much.</source>
        <translation>استخدام الأحرف الكبيرة لا يفيد كثيرًا.</translation>
    </message>
    <message>
        <source>All-uppercase is almost as easy to guess as all-lowercase.</source>
        <translation>الكتابة بالأحرف الكبيرة كلها سهلة التخمين تقريبًا مثل الكتابة بالأحرف الصغيرة كلها.</translation>
    </message>
    <message>
        <source>Reversed words aren't much harder to guess.</source>
        <translation>الكلمات المعكوسة ليست أصعب كثيرًا في التخمين.</translation>
    </message>
    <message>
        <source>Predictable substitutions like '@' instead of 'a' don't help very much.</source>
        <translation>الاستبدالات المتوقعة مثل '@' بدلًا من 'a' لا تفيد كثيرًا.</translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess.</source>
        <translation>الصفوف المستقيمة من المفاتيح سهلة التخمين.</translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess.</source>
        <translation>أنماط لوحة المفاتيح القصيرة سهلة التخمين.</translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess.</source>
        <translation>التكرارات مثل "aaa" سهلة التخمين.</translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc".</source>
        <translation>التكرارات مثل "abcabcabc" أصعب قليلًا فقط في التخمين من "abc".</translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess.</source>
        <translation>التسلسلات مثل "abc" أو "6543" سهلة التخمين.</translation>
    </message>
    <message>
        <source>Recent years are easy to guess.</source>
        <translation>السنوات الأخيرة سهلة التخمين.</translation>
    </message>
    <message>
        <source>Dates are often easy to guess.</source>
        <translation>غالبًا ما تكون التواريخ سهلة التخمين.</translation>
    </message>
    <message>
        <source>This is a top-10 common password.</source>
        <translation>هذه واحدة من أكثر عشر كلمات مرور شيوعًا.</translation>
    </message>
    <message>
        <source>This is a top-100 common password.</source>
        <translation>هذه واحدة من أكثر مئة كلمة مرور شيوعًا.</translation>
    </message>
    <message>
        <source>This is a very common password.</source>
        <translation>هذه كلمة مرور شائعة جدًا.</translation>
    </message>
    <message>
        <source>This is similar to a commonly used password.</source>
        <translation>هذه تشبه كلمة مرور شائعة الاستخدام.</translation>
    </message>
    <message>
        <source>A word by itself is easy to guess.</source>
        <translation>الكلمة الواحدة وحدها سهلة التخمين.</translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess.</source>
        <translation>الأسماء الأولى وأسماء العائلة وحدها سهلة التخمين.</translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess.</source>
        <translation>الأسماء الأولى وأسماء العائلة الشائعة سهلة التخمين.</translation>
    </message>
    <message>
        <source>This password is easy to guess; add another word or two.</source>
        <translation>كلمة المرور هذه سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Straight rows of keys are easy to guess; add another word or two.</source>
        <translation>الصفوف المستقيمة من المفاتيح سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Short keyboard patterns are easy to guess; add another word or two.</source>
        <translation>أنماط لوحة المفاتيح القصيرة سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Repeats like "aaa" are easy to guess; add another word or two.</source>
        <translation>التكرارات مثل "aaa" سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Repeats like "abcabcabc" are only slightly harder to guess than "abc"; add another word or two.</source>
        <translation>التكرارات مثل "abcabcabc" أصعب قليلًا فقط في التخمين من "abc"؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Sequences like "abc" or "6543" are easy to guess; add another word or two.</source>
        <translation>التسلسلات مثل "abc" أو "6543" سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Recent years are easy to guess; add another word or two.</source>
        <translation>السنوات الأخيرة سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Dates are often easy to guess; add another word or two.</source>
        <translation>غالبًا ما تكون التواريخ سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>This is a top-10 common password; add another word or two.</source>
        <translation>هذه واحدة من أكثر عشر كلمات مرور شيوعًا؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>This is a top-100 common password; add another word or two.</source>
        <translation>هذه واحدة من أكثر مئة كلمة مرور شيوعًا؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>This is a very common password; add another word or two.</source>
        <translation>هذه كلمة مرور شائعة جدًا؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>This is similar to a commonly used password; add another word or two.</source>
        <translation>هذه تشبه كلمة مرور شائعة الاستخدام؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>A word by itself is easy to guess; add another word or two.</source>
        <translation>الكلمة الواحدة وحدها سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Names and surnames by themselves are easy to guess; add another word or two.</source>
        <translation>الأسماء الأولى وأسماء العائلة وحدها سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
    <message>
        <source>Common names and surnames are easy to guess; add another word or two.</source>
        <translation>الأسماء الأولى وأسماء العائلة الشائعة سهلة التخمين؛ أضف كلمة أو كلمتين أخريين.</translation>
    </message>
</context>
<context>
    <name>PasswordTable</name>
    <message>
        <source>Temporary passwords</source>
        <translation>كلمات المرور المؤقتة</translation>
    </message>
</context>
<context>
    <name>PendingEdits</name>
    <message>
        <source>active</source>
        <translation>نشط</translation>
    </message>
    <message>
        <source>inactive</source>
        <translation>غير نشط</translation>
    </message>
    <message>
        <source>Unsaved: nothing</source>
        <translation>غير محفوظ: لا شيء</translation>
    </message>
    <message>
        <source>Unsaved: activate</source>
        <translation>غير محفوظ: تفعيل</translation>
    </message>
    <message>
        <source>Unsaved: deactivate</source>
        <translation>غير محفوظ: تعطيل</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}</source>
        <translation>غير محفوظ: الدور {old} ← {new}</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, activate</source>
        <translation>غير محفوظ: الدور {old} ← {new}، تفعيل</translation>
    </message>
    <message>
        <source>Unsaved: role {old} → {new}, deactivate</source>
        <translation>غير محفوظ: الدور {old} ← {new}، تعطيل</translation>
    </message>
    <message>
        <source>Unsaved change: nothing</source>
        <translation>تغيير غير محفوظ: لا شيء</translation>
    </message>
    <message>
        <source>Unsaved change: activate</source>
        <translation>تغيير غير محفوظ: تفعيل</translation>
    </message>
    <message>
        <source>Unsaved change: deactivate</source>
        <translation>تغيير غير محفوظ: تعطيل</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}</source>
        <translation>تغيير غير محفوظ: الدور من {old} إلى {new}</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, activate</source>
        <translation>تغيير غير محفوظ: الدور من {old} إلى {new}، تفعيل</translation>
    </message>
    <message>
        <source>Unsaved change: role from {old} to {new}, deactivate</source>
        <translation>تغيير غير محفوظ: الدور من {old} إلى {new}، تعطيل</translation>
    </message>
    <message>
        <source>{role}, unsaved, was {old}</source>
        <translation>{role}، غير محفوظ، كان {old}</translation>
    </message>
    <message>
        <source>active, unsaved, was inactive</source>
        <translation>نشط، غير محفوظ، كان غير نشط</translation>
    </message>
    <message>
        <source>inactive, unsaved, was active</source>
        <translation>غير نشط، غير محفوظ، كان نشطًا</translation>
    </message>
</context>
<context>
    <name>RecordActions</name>
    <message numerus="yes">
        <source>Unlocked {n} account.</source>
        <comment>Unlocked {n} accounts.</comment>
        <translation>
            <numerusform>تم إلغاء قفل {n} حساب.</numerusform>
            <numerusform>تم إلغاء قفل حساب واحد.</numerusform>
            <numerusform>تم إلغاء قفل حسابين.</numerusform>
            <numerusform>تم إلغاء قفل {n} حسابات.</numerusform>
            <numerusform>تم إلغاء قفل {n} حسابًا.</numerusform>
            <numerusform>تم إلغاء قفل {n} حساب.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account.</source>
        <comment>Reset the passwords of {n} accounts.</comment>
        <translation>
            <numerusform>تمت إعادة تعيين كلمات مرور {n} حساب.</numerusform>
            <numerusform>تمت إعادة تعيين كلمة مرور حساب واحد.</numerusform>
            <numerusform>تمت إعادة تعيين كلمتي مرور حسابين.</numerusform>
            <numerusform>تمت إعادة تعيين كلمات مرور {n} حسابات.</numerusform>
            <numerusform>تمت إعادة تعيين كلمات مرور {n} حسابًا.</numerusform>
            <numerusform>تمت إعادة تعيين كلمات مرور {n} حساب.</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}.</source>
        <translation>تمت إعادة تعيين تسجيل الدخول بخطوتين لـ {email}.</translation>
    </message>
    <message>
        <source>Created {email}.</source>
        <translation>تم إنشاء {email}.</translation>
    </message>
    <message>
        <source>The selected accounts no longer exist.</source>
        <translation>لم تعد الحسابات المحددة موجودة.</translation>
    </message>
    <message>
        <source>Deleted {email}.</source>
        <translation>تم حذف {email}.</translation>
    </message>
    <message numerus="yes">
        <source>Deleted {n} account.</source>
        <comment>Deleted {n} accounts.</comment>
        <translation>
            <numerusform>تم حذف {n} حساب.</numerusform>
            <numerusform>تم حذف حساب واحد.</numerusform>
            <numerusform>تم حذف حسابين.</numerusform>
            <numerusform>تم حذف {n} حسابات.</numerusform>
            <numerusform>تم حذف {n} حسابًا.</numerusform>
            <numerusform>تم حذف {n} حساب.</numerusform>
        </translation>
    </message>
    <message>
        <source>Export users</source>
        <translation>تصدير المستخدمين</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>ملفات CSV</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} user to {path}</source>
        <comment>Exported {n} users to {path}</comment>
        <translation>
            <numerusform>تم تصدير {n} مستخدم إلى {path}</numerusform>
            <numerusform>تم تصدير مستخدم واحد إلى {path}</numerusform>
            <numerusform>تم تصدير مستخدمَين إلى {path}</numerusform>
            <numerusform>تم تصدير {n} مستخدمين إلى {path}</numerusform>
            <numerusform>تم تصدير {n} مستخدمًا إلى {path}</numerusform>
            <numerusform>تم تصدير {n} مستخدم إلى {path}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Recovery</name>
    <message>
        <source>The current password is incorrect.</source>
        <translation>كلمة المرور الحالية غير صحيحة.</translation>
    </message>
    <message>
        <source>No account has the email address {email}.</source>
        <translation>لا يوجد حساب بعنوان البريد الإلكتروني {email}.</translation>
    </message>
    <message>
        <source>This account no longer exists.</source>
        <translation>لم يعد هذا الحساب موجودًا.</translation>
    </message>
    <message>
        <source>The password was changed elsewhere meanwhile; sign in again.</source>
        <translation>تم تغيير كلمة المرور من مكان آخر في هذه الأثناء؛ سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>desktop-auth recovery codes for {email}, made {moment}.
Each code resets your password once. A new batch replaces these.</source>
        <translation>رموز استرداد desktop-auth للحساب {email}، أُنشئت {moment}.
يعيد كل رمز تعيين كلمة المرور مرة واحدة. تحل الدفعة الجديدة محل هذه الرموز.</translation>
    </message>
</context>
<context>
    <name>RecoveryCodesDialog</name>
    <message>
        <source>New codes replace your earlier ones: those stop working at once.</source>
        <translation>تحل الرموز الجديدة محل رموزك السابقة: تتوقف تلك عن العمل فورًا.</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>رموز الاسترداد</translation>
    </message>
    <message>
        <source>If you forget your password, one of these codes lets you choose a new one.</source>
        <translation>إذا نسيت كلمة المرور، فيتيح لك أحد هذه الرموز اختيار كلمة مرور جديدة.</translation>
    </message>
    <message>
        <source>&amp;Make new codes</source>
        <translation>إ&amp;نشاء رموز جديدة</translation>
    </message>
    <message>
        <source>Make new recovery codes</source>
        <translation>إنشاء رموز استرداد جديدة</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>You have no unused codes.</source>
        <translation>ليست لديك رموز غير مستخدمة.</translation>
    </message>
    <message numerus="yes">
        <source>You have {n} unused code.</source>
        <comment>You have {n} unused codes.</comment>
        <translation>
            <numerusform>ليست لديك رموز غير مستخدمة.</numerusform>
            <numerusform>لديك رمز واحد غير مستخدم.</numerusform>
            <numerusform>لديك رمزان غير مستخدمين.</numerusform>
            <numerusform>لديك {n} رموز غير مستخدمة.</numerusform>
            <numerusform>لديك {n} رمزًا غير مستخدم.</numerusform>
            <numerusform>لديك {n} رمز غير مستخدم.</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Making new codes…</source>
        <translation>جارٍ إنشاء رموز جديدة…</translation>
    </message>
    <message>
        <source>Keep them somewhere safe, on paper or in a password manager: each one resets your password once. They are shown only now.</source>
        <translation>احتفظ بها في مكان آمن، على الورق أو في مدير كلمات المرور: كل رمز منها يعيد تعيين كلمة المرور مرة واحدة. لا تُعرض إلا الآن.</translation>
    </message>
    <message>
        <source>Your earlier codes no longer work.</source>
        <translation>لم تعد رموزك السابقة تعمل.</translation>
    </message>
    <message>
        <source>Your &amp;codes:</source>
        <translation>&amp;رموزك:</translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation>ن&amp;سخ</translation>
    </message>
    <message>
        <source>Copy the codes</source>
        <translation>نسخ الرموز</translation>
    </message>
    <message>
        <source>&amp;Save to file…</source>
        <translation>&amp;حفظ في ملف…</translation>
    </message>
    <message>
        <source>Save the codes to a file</source>
        <translation>حفظ الرموز في ملف</translation>
    </message>
    <message>
        <source>&amp;Done</source>
        <translation>&amp;تم</translation>
    </message>
    <message>
        <source>Close and forget the codes</source>
        <translation>إغلاق ونسيان الرموز</translation>
    </message>
    <message>
        <source>Copied the codes.</source>
        <translation>تم نسخ الرموز.</translation>
    </message>
    <message>
        <source>Save recovery codes</source>
        <translation>حفظ رموز الاسترداد</translation>
    </message>
    <message>
        <source>Text files</source>
        <translation>ملفات نصية</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>جارٍ الحفظ…</translation>
    </message>
    <message>
        <source>Saved the codes to {path} (readable only by you).</source>
        <translation>تم حفظ الرموز في {path} (لا يمكن لغيرك قراءتها).</translation>
    </message>
    <message>
        <source>Close without keeping the codes?</source>
        <translation>هل تريد الإغلاق دون الاحتفاظ بالرموز؟</translation>
    </message>
    <message>
        <source>The codes were neither copied nor saved, and they are not shown again. Without them, a forgotten password needs an administrator (you can make new codes from your account window).</source>
        <translation>لم يتم نسخ الرموز ولا حفظها، ولن تُعرض مرة أخرى. بدونها، ستحتاج إلى مسؤول إذا نسيت كلمة المرور (يمكنك إنشاء رموز جديدة من نافذة حسابك).</translation>
    </message>
</context>
<context>
    <name>RegisterDialog</name>
    <message>
        <source>Create an account</source>
        <translation>إنشاء حساب</translation>
    </message>
    <message>
        <source>Choose a long password: a few unrelated words work well.</source>
        <translation>اختر كلمة مرور طويلة: بضع كلمات لا علاقة بينها تفي بالغرض.</translation>
    </message>
    <message>
        <source>&amp;Register</source>
        <translation>&amp;تسجيل</translation>
    </message>
    <message>
        <source>Register</source>
        <translation>تسجيل</translation>
    </message>
</context>
<context>
    <name>ResetPasswordDialog</name>
    <message>
        <source>Forgot password</source>
        <translation>نسيت كلمة المرور</translation>
    </message>
    <message>
        <source>Use one of your recovery codes to choose a new password. Each code works once.</source>
        <translation>استخدم أحد رموز الاسترداد الخاصة بك لاختيار كلمة مرور جديدة. يعمل كل رمز مرة واحدة فقط.</translation>
    </message>
    <message>
        <source>&amp;Email:</source>
        <translation>البريد الإل&amp;كتروني:</translation>
    </message>
    <message>
        <source>Recovery code</source>
        <translation>رمز الاسترداد</translation>
    </message>
    <message>
        <source>Recovery &amp;code:</source>
        <translation>&amp;رمز الاسترداد:</translation>
    </message>
    <message>
        <source>Authenticator code</source>
        <translation>رمز تطبيق المصادقة</translation>
    </message>
    <message>
        <source>Only if you use two-factor sign-in</source>
        <translation>فقط إذا كنت تستخدم تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>&amp;Authenticator code:</source>
        <translation>رمز تطبيق ال&amp;مصادقة:</translation>
    </message>
    <message>
        <source>&amp;New password:</source>
        <translation>كلمة المرور ال&amp;جديدة:</translation>
    </message>
    <message>
        <source>New password</source>
        <translation>كلمة المرور الجديدة</translation>
    </message>
    <message>
        <source>Confirm new password</source>
        <translation>تأكيد كلمة المرور الجديدة</translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation>إعادة &amp;تعيين كلمة المرور</translation>
    </message>
    <message>
        <source>Reset the password with the code</source>
        <translation>إعادة تعيين كلمة المرور باستخدام الرمز</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter your email address.</source>
        <translation>أدخل عنوان بريدك الإلكتروني.</translation>
    </message>
    <message>
        <source>Enter one of your recovery codes.</source>
        <translation>أدخل أحد رموز الاسترداد الخاصة بك.</translation>
    </message>
    <message>
        <source>Enter a new password.</source>
        <translation>أدخل كلمة مرور جديدة.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>جارٍ التحقق من الرمز…</translation>
    </message>
</context>
<context>
    <name>ResetTwoFactorDialog</name>
    <message>
        <source>Reset two-factor sign-in</source>
        <translation>إعادة تعيين تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}?</source>
        <translation>هل تريد إعادة تعيين تسجيل الدخول بخطوتين للحساب {email}؟</translation>
    </message>
    <message>
        <source>Their authenticator app stops working for this account: until they set one up again in their account window, the password alone signs in. Do this when they have lost their phone and their recovery codes, and you are sure the request is theirs. The history records it.</source>
        <translation>سيتوقف تطبيق المصادقة لدى هذا المستخدم عن العمل مع هذا الحساب: وإلى أن يُعِدّ تطبيقًا من جديد في نافذة حسابه، تكفي كلمة المرور وحدها لتسجيل الدخول. افعل ذلك عندما يكون قد فقد هاتفه ورموز الاسترداد الخاصة به، وتكون متأكدًا من أن الطلب صادر عنه. يُسجَّل هذا الإجراء في السجل.</translation>
    </message>
    <message>
        <source>&amp;Reset two-factor sign-in</source>
        <translation>إعادة &amp;تعيين تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Reset the two-factor sign-in of {email}</source>
        <translation>إعادة تعيين تسجيل الدخول بخطوتين للحساب {email}</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Resetting the two-factor sign-in of {email}…</source>
        <translation>جارٍ إعادة تعيين تسجيل الدخول بخطوتين للحساب {email}…</translation>
    </message>
</context>
<context>
    <name>RoleDelegate</name>
    <message>
        <source>Role</source>
        <translation>الدور</translation>
    </message>
</context>
<context>
    <name>RoleEditor</name>
    <message>
        <source>Role editor — desktop-auth</source>
        <translation>محرر الأدوار — desktop-auth</translation>
    </message>
    <message>
        <source>Role editor</source>
        <translation>محرر الأدوار</translation>
    </message>
    <message>
        <source>U&amp;sers</source>
        <translation>ال&amp;مستخدمون</translation>
    </message>
    <message>
        <source>Rol&amp;es</source>
        <translation>الأدوا&amp;ر</translation>
    </message>
    <message>
        <source>Settin&amp;gs</source>
        <translation>الإ&amp;عدادات</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>ال&amp;سجل</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>تحديث</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>حفظ</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>تغييرات غير محفوظة</translation>
    </message>
    <message numerus="yes">
        <source>{n} change is not saved. Save before closing?</source>
        <comment>{n} changes are not saved. Save before closing?</comment>
        <translation>
            <numerusform>لا توجد تغييرات غير محفوظة. هل تريد الحفظ قبل الإغلاق؟</numerusform>
            <numerusform>يوجد تغيير واحد غير محفوظ. هل تريد الحفظ قبل الإغلاق؟</numerusform>
            <numerusform>يوجد تغييران غير محفوظين. هل تريد الحفظ قبل الإغلاق؟</numerusform>
            <numerusform>توجد {n} تغييرات غير محفوظة. هل تريد الحفظ قبل الإغلاق؟</numerusform>
            <numerusform>يوجد {n} تغييرًا غير محفوظ. هل تريد الحفظ قبل الإغلاق؟</numerusform>
            <numerusform>يوجد {n} تغيير غير محفوظ. هل تريد الحفظ قبل الإغلاق؟</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Roles</name>
    <message>
        <source>There is no role named '{role}'.</source>
        <translation>لا يوجد دور باسم '{role}'.</translation>
    </message>
    <message>
        <source>Enter a role name.</source>
        <translation>أدخل اسم الدور.</translation>
    </message>
    <message>
        <source>A role name has at most {limit} characters.</source>
        <translation>يتكون اسم الدور من {limit} من الأحرف كحد أقصى.</translation>
    </message>
    <message>
        <source>A role name starts with a letter and holds only letters a-z, digits, '.', '_' or '-'.</source>
        <translation>يبدأ اسم الدور بحرف ولا يحتوي إلا على الأحرف a-z أو الأرقام أو '.' أو '_' أو '-'.</translation>
    </message>
    <message>
        <source>A description has at most {limit} characters.</source>
        <translation>يتكون الوصف من {limit} من الأحرف كحد أقصى.</translation>
    </message>
    <message>
        <source>The description is not valid text.</source>
        <translation>الوصف ليس نصًا صالحًا.</translation>
    </message>
    <message>
        <source>A description is one line of text, without tabs or other control characters.</source>
        <translation>الوصف سطر واحد من النص، بلا علامات جدولة أو أحرف تحكم أخرى.</translation>
    </message>
    <message>
        <source>A description cannot hold characters that reverse the direction of text.</source>
        <translation>لا يمكن أن يحتوي الوصف على أحرف تعكس اتجاه النص.</translation>
    </message>
    <message>
        <source>The role is already named '{role}'.</source>
        <translation>اسم الدور هو '{role}' بالفعل.</translation>
    </message>
</context>
<context>
    <name>RolesTab</name>
    <message>
        <source>Role</source>
        <translation>الدور</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>الوصف</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>المستخدمون</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>النوع</translation>
    </message>
    <message>
        <source>Roles</source>
        <translation>الأدوار</translation>
    </message>
    <message>
        <source>New role name</source>
        <translation>اسم الدور الجديد</translation>
    </message>
    <message>
        <source>e.g. auditor</source>
        <translation>مثال: auditor</translation>
    </message>
    <message>
        <source>&amp;New role:</source>
        <translation>دور &amp;جديد:</translation>
    </message>
    <message>
        <source>&amp;Add role</source>
        <translation>إ&amp;ضافة دور</translation>
    </message>
    <message>
        <source>Add role</source>
        <translation>إضافة دور</translation>
    </message>
    <message>
        <source>&amp;Remove selected role</source>
        <translation>إ&amp;زالة الدور المحدد</translation>
    </message>
    <message>
        <source>Remove the selected role</source>
        <translation>إزالة الدور المحدد</translation>
    </message>
    <message>
        <source>Name of the selected role</source>
        <translation>اسم الدور المحدد</translation>
    </message>
    <message>
        <source>Na&amp;me:</source>
        <translation>ا&amp;لاسم:</translation>
    </message>
    <message>
        <source>Rename ro&amp;le</source>
        <translation>إعادة &amp;تسمية الدور</translation>
    </message>
    <message>
        <source>Rename the selected role</source>
        <translation>إعادة تسمية الدور المحدد</translation>
    </message>
    <message>
        <source>Description of the selected role</source>
        <translation>وصف الدور المحدد</translation>
    </message>
    <message>
        <source>What the role is for (optional)</source>
        <translation>الغرض من الدور (اختياري)</translation>
    </message>
    <message>
        <source>Descr&amp;iption:</source>
        <translation>ال&amp;وصف:</translation>
    </message>
    <message>
        <source>Save &amp;description</source>
        <translation>&amp;حفظ الوصف</translation>
    </message>
    <message>
        <source>Save the description of the selected role</source>
        <translation>حفظ وصف الدور المحدد</translation>
    </message>
    <message>
        <source>Roles with what they are for and their number of users. 'admin' and 'user' are built in: they can be described but not renamed. A role can be removed only when nobody holds it.</source>
        <translation>الأدوار مع الغرض منها وعدد مستخدميها. الدوران 'admin' و'user' مضمَّنان: يمكن وصفهما لكن لا يمكن إعادة تسميتهما. لا يمكن إزالة دور إلا إذا لم يكن مُسندًا إلى أحد.</translation>
    </message>
    <message>
        <source>built in</source>
        <translation>مضمَّن</translation>
    </message>
    <message>
        <source>custom</source>
        <translation>مخصص</translation>
    </message>
    <message>
        <source>no description</source>
        <translation>بلا وصف</translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation>
            <numerusform>{n} مستخدم</numerusform>
            <numerusform>مستخدم واحد</numerusform>
            <numerusform>مستخدمان</numerusform>
            <numerusform>{n} مستخدمين</numerusform>
            <numerusform>{n} مستخدمًا</numerusform>
            <numerusform>{n} مستخدم</numerusform>
        </translation>
    </message>
    <message>
        <source>Select a role in the table first.</source>
        <translation>حدد دورًا في الجدول أولًا.</translation>
    </message>
    <message>
        <source>A built-in role keeps its name.</source>
        <translation>يحتفظ الدور المضمَّن باسمه.</translation>
    </message>
    <message>
        <source>Added role {role}.</source>
        <translation>تمت إضافة الدور {role}.</translation>
    </message>
    <message>
        <source>Select a role to remove.</source>
        <translation>حدد دورًا لإزالته.</translation>
    </message>
    <message>
        <source>Removed role {role}.</source>
        <translation>تمت إزالة الدور {role}.</translation>
    </message>
    <message>
        <source>Select a custom role to rename.</source>
        <translation>حدد دورًا مخصصًا لإعادة تسميته.</translation>
    </message>
    <message>
        <source>Renamed role {old} to {new}.</source>
        <translation>تمت إعادة تسمية الدور {old} إلى {new}.</translation>
    </message>
    <message>
        <source>Select a role to describe.</source>
        <translation>حدد دورًا لوصفه.</translation>
    </message>
    <message>
        <source>Cleared the description of role {role}.</source>
        <translation>تم مسح وصف الدور {role}.</translation>
    </message>
    <message>
        <source>Saved the description of role {role}.</source>
        <translation>تم حفظ وصف الدور {role}.</translation>
    </message>
</context>
<context>
    <name>Search</name>
    <message>
        <source>A search has at most {limit} characters (no address is longer); this one has {n}.</source>
        <translation>يحتوي البحث على {limit} من الأحرف كحد أقصى (لا يوجد عنوان أطول من ذلك)؛ وهذا البحث يحتوي على {n} حرف.</translation>
    </message>
</context>
<context>
    <name>ServiceErrors</name>
    <message>
        <source>An account with this email address already exists.</source>
        <translation>يوجد حساب بعنوان البريد الإلكتروني هذا بالفعل.</translation>
    </message>
    <message>
        <source>This address looks too much like an existing account's. Choose another.</source>
        <translation>هذا العنوان يشبه كثيرًا عنوان حساب موجود. اختر عنوانًا آخر.</translation>
    </message>
    <message>
        <source>The email address or password is incorrect.</source>
        <translation>عنوان البريد الإلكتروني أو كلمة المرور غير صحيحة.</translation>
    </message>
    <message>
        <source>This account has been deactivated. Ask an administrator to reactivate it.</source>
        <translation>تم تعطيل هذا الحساب. اطلب من المسؤول إعادة تفعيله.</translation>
    </message>
    <message>
        <source>This temporary password has expired. Ask an administrator for a new one.</source>
        <translation>انتهت صلاحية كلمة المرور المؤقتة هذه. اطلب كلمة مرور جديدة من المسؤول.</translation>
    </message>
    <message>
        <source>Choose your own password before you do anything else.</source>
        <translation>اختر كلمة المرور الخاصة بك قبل القيام بأي شيء آخر.</translation>
    </message>
    <message numerus="yes">
        <source>{n} second</source>
        <comment>{n} seconds</comment>
        <translation>
            <numerusform>{n} ثانية</numerusform>
            <numerusform>ثانية واحدة</numerusform>
            <numerusform>ثانيتان</numerusform>
            <numerusform>{n} ثوانٍ</numerusform>
            <numerusform>{n} ثانية</numerusform>
            <numerusform>{n} ثانية</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} minute</source>
        <comment>{n} minutes</comment>
        <translation>
            <numerusform>{n} دقيقة</numerusform>
            <numerusform>دقيقة واحدة</numerusform>
            <numerusform>دقيقتان</numerusform>
            <numerusform>{n} دقائق</numerusform>
            <numerusform>{n} دقيقة</numerusform>
            <numerusform>{n} دقيقة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} second, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} seconds, or ask an administrator to unlock the account.</comment>
        <translation>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} ثانية، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد ثانية واحدة، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد ثانيتين، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} ثوانٍ، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} ثانية، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} ثانية، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Too many failed sign-ins. Try again in {n} minute, or ask an administrator to unlock the account.</source>
        <comment>Too many failed sign-ins. Try again in {n} minutes, or ask an administrator to unlock the account.</comment>
        <translation>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} دقيقة، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد دقيقة واحدة، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد دقيقتين، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} دقائق، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} دقيقة، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
            <numerusform>محاولات تسجيل دخول فاشلة كثيرة جدًا. حاول مرة أخرى بعد {n} دقيقة، أو اطلب من المسؤول إلغاء قفل الحساب.</numerusform>
        </translation>
    </message>
    <message>
        <source>Only an active administrator can do this.</source>
        <translation>لا يمكن القيام بذلك إلا لمسؤول نشط.</translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: the edited accounts. Nothing was saved; review the reloaded rows and save again.</source>
        <translation>غيّر شخص آخر الحسابات المعدّلة في أثناء ذلك. لم يُحفظ أي شيء؛ راجع الصفوف المعاد تحميلها واحفظ مرة أخرى.</translation>
    </message>
    <message>
        <source>Changed by someone else meanwhile: {emails}. Nothing was saved; review the reloaded rows and save again.</source>
        <translation>غيّر شخص آخر في أثناء ذلك: {emails}. لم يُحفظ أي شيء؛ راجع الصفوف المعاد تحميلها واحفظ مرة أخرى.</translation>
    </message>
    <message>
        <source>This change would leave no active administrator, so it was not made.</source>
        <translation>لن يتبقى أي مسؤول نشط بعد هذا التغيير، لذا لم يتم إجراؤه.</translation>
    </message>
    <message>
        <source>You cannot deactivate your own account.</source>
        <translation>لا يمكنك تعطيل حسابك.</translation>
    </message>
    <message>
        <source>This change takes away your own administrator role: you would lose access to the role editor.</source>
        <translation>هذا التغيير يزيل دور المسؤول الخاص بك: ستفقد الوصول إلى محرر الأدوار.</translation>
    </message>
    <message>
        <source>This change has already ended (staged); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل (مُجهَّز)؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>This change has already ended (running); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل (قيد التنفيذ)؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>This change has already ended (failed); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل (فشل)؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>This change has already ended (cancelled); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل (أُلغي)؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>This change has already ended (done); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل (اكتمل)؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>This change has already ended ({state}); stage it again to apply it.</source>
        <translation>انتهى هذا التغيير بالفعل ({state})؛ جهّزه مرة أخرى لتطبيقه.</translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be renamed.</source>
        <translation>الدور '{name}' مضمَّن ولا يمكن إعادة تسميته.</translation>
    </message>
    <message>
        <source>The role '{name}' is built in and cannot be removed.</source>
        <translation>الدور '{name}' مضمَّن ولا يمكن إزالته.</translation>
    </message>
    <message numerus="yes">
        <source>The role '{name}' is held by {n} account; give them another role first.</source>
        <comment>The role '{name}' is held by {n} accounts; give them another role first.</comment>
        <translation>
            <numerusform>الدور '{name}' مُسند إلى {n} حساب؛ امنحها دورًا آخر أولًا.</numerusform>
            <numerusform>الدور '{name}' مُسند إلى حساب واحد؛ امنحه دورًا آخر أولًا.</numerusform>
            <numerusform>الدور '{name}' مُسند إلى حسابين؛ امنحهما دورًا آخر أولًا.</numerusform>
            <numerusform>الدور '{name}' مُسند إلى {n} حسابات؛ امنحها دورًا آخر أولًا.</numerusform>
            <numerusform>الدور '{name}' مُسند إلى {n} حسابًا؛ امنحها دورًا آخر أولًا.</numerusform>
            <numerusform>الدور '{name}' مُسند إلى {n} حساب؛ امنحها دورًا آخر أولًا.</numerusform>
        </translation>
    </message>
    <message>
        <source>A role named '{name}' already exists.</source>
        <translation>يوجد دور باسم '{name}' بالفعل.</translation>
    </message>
    <message>
        <source>An administrator account already exists. Sign in instead.</source>
        <translation>يوجد حساب مسؤول بالفعل. سجّل الدخول بدلًا من ذلك.</translation>
    </message>
    <message>
        <source>Self-registration is turned off. Ask an administrator to create your account.</source>
        <translation>التسجيل الذاتي معطّل. اطلب من المسؤول إنشاء حسابك.</translation>
    </message>
    <message>
        <source>This would delete the last active administrator, so nothing was deleted. Make another account an administrator first.</source>
        <translation>سيؤدي هذا إلى حذف آخر مسؤول نشط، لذا لم يُحذف أي شيء. اجعل حسابًا آخر مسؤولًا أولًا.</translation>
    </message>
    <message>
        <source>Your own account is among those selected: you cannot delete it from here. Leave it out of the selection (Ctrl+click it).</source>
        <translation>حسابك ضمن الحسابات المحددة: لا يمكنك حذفه من هنا. استبعده من التحديد (Ctrl+نقر عليه).</translation>
    </message>
    <message numerus="yes">
        <source>Delete at most {limit} accounts at once ({n} is selected); nothing was deleted. Narrow the selection, for example with the filter.</source>
        <comment>Delete at most {limit} accounts at once ({n} are selected); nothing was deleted. Narrow the selection, for example with the filter.</comment>
        <translation>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: {n})؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: حساب واحد)؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: حسابان)؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: {n} حسابات)؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: {n} حسابًا)؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
            <numerusform>احذف {limit} من الحسابات كحد أقصى في المرة الواحدة (المحدد: {n} حساب)؛ لم يُحذف أي شيء. ضيّق التحديد، باستخدام التصفية مثلًا.</numerusform>
        </translation>
    </message>
    <message>
        <source>That code is not valid for that address. If you have no recovery codes, ask an administrator.</source>
        <translation>هذا الرمز غير صالح لهذا العنوان. إذا لم تكن لديك رموز استرداد، فاطلب المساعدة من المسؤول.</translation>
    </message>
    <message>
        <source>You are the last active administrator, so your account cannot be deleted. Make someone else an administrator first.</source>
        <translation>أنت آخر مسؤول نشط، لذا لا يمكن حذف حسابك. اجعل شخصًا آخر مسؤولًا أولًا.</translation>
    </message>
    <message>
        <source>The file cannot be imported as it is; nothing was imported. Fix it and try again.</source>
        <translation>لا يمكن استيراد الملف بحالته الحالية؛ لم يُستورد أي شيء. أصلحه وحاول مرة أخرى.</translation>
    </message>
    <message numerus="yes">
        <source>{n} row of the file has problems; nothing was imported. Fix them and try again.</source>
        <comment>{n} rows of the file have problems; nothing was imported. Fix them and try again.</comment>
        <translation>
            <numerusform>توجد مشكلات في {n} صف من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
            <numerusform>توجد مشكلات في صف واحد من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
            <numerusform>توجد مشكلات في صفين من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
            <numerusform>توجد مشكلات في {n} صفوف من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
            <numerusform>توجد مشكلات في {n} صفًا من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
            <numerusform>توجد مشكلات في {n} صف من الملف؛ لم يُستورد أي شيء. أصلحها وحاول مرة أخرى.</numerusform>
        </translation>
    </message>
    <message>
        <source>Meanwhile someone else registered one of the addresses (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation>في أثناء ذلك، سجّل شخص آخر أحد العناوين (أو عنوانًا مشابهًا له)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِله.</translation>
    </message>
    <message>
        <source>Meanwhile someone else registered {emails} (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <translation>في أثناء ذلك، سجّل شخص آخر {emails} (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِله.</translation>
    </message>
    <message numerus="yes">
        <source>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</source>
        <comment>Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. Check the file again and remove it.</comment>
        <translation>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} و{n} عنوان آخر (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} وعنوانًا آخر (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} وعنوانين آخرين (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} و{n} عناوين أخرى (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} و{n} عنوانًا آخر (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
            <numerusform>في أثناء ذلك، سجّل شخص آخر {emails} و{n} عنوان آخر (أو عنوانًا مشابهًا)؛ لم يُستورد أي شيء. تحقق من الملف مرة أخرى وأزِلها.</numerusform>
        </translation>
    </message>
    <message>
        <source>The import was cancelled; nothing was imported.</source>
        <translation>تم إلغاء الاستيراد؛ لم يُستورد أي شيء.</translation>
    </message>
    <message>
        <source>Type the code from your authenticator app.</source>
        <translation>اكتب الرمز من تطبيق المصادقة.</translation>
    </message>
    <message>
        <source>Administrators of this organisation sign in with an authenticator app too: set one up to go on.</source>
        <translation>يسجّل مسؤولو هذه المؤسسة الدخول باستخدام تطبيق مصادقة أيضًا: أعِدّ تطبيقًا للمتابعة.</translation>
    </message>
    <message>
        <source>That took too long: sign in again.</source>
        <translation>استغرق ذلك وقتًا طويلًا جدًا: سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>This account uses two-factor sign-in: type the current code from its authenticator app too. If you lost it, ask an administrator.</source>
        <translation>يستخدم هذا الحساب تسجيل الدخول بخطوتين: اكتب أيضًا الرمز الحالي من تطبيق المصادقة الخاص به. إذا فقدته، فاطلب المساعدة من المسؤول.</translation>
    </message>
</context>
<context>
    <name>SettingsTab</name>
    <message>
        <source>Allow people to create their own accounts</source>
        <translation>السماح للأشخاص بإنشاء حساباتهم بأنفسهم</translation>
    </message>
    <message>
        <source>Allow self-registration</source>
        <translation>السماح بالتسجيل الذاتي</translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation>عدد محاولات تسجيل الدخول الفاشلة قبل القفل</translation>
    </message>
    <message>
        <source>First lockout in seconds</source>
        <translation>مدة القفل الأول بالثواني</translation>
    </message>
    <message>
        <source> s</source>
        <translation> ث</translation>
    </message>
    <message>
        <source>Longest lockout in seconds</source>
        <translation>أطول مدة قفل بالثواني</translation>
    </message>
    <message>
        <source>Idle sign-out in minutes</source>
        <translation>تسجيل الخروج عند الخمول بالدقائق</translation>
    </message>
    <message>
        <source> min</source>
        <translation> د</translation>
    </message>
    <message>
        <source>Temporary passwords expire after, in hours</source>
        <translation>مدة صلاحية كلمات المرور المؤقتة بالساعات</translation>
    </message>
    <message>
        <source> h</source>
        <translation> س</translation>
    </message>
    <message>
        <source>How long a temporary password from a reset works; it must be changed at the next sign-in</source>
        <translation>مدة صلاحية كلمة المرور المؤقتة الناتجة عن إعادة التعيين؛ ويجب تغييرها عند تسجيل الدخول التالي</translation>
    </message>
    <message>
        <source>&amp;Require two-factor sign-in for administrators</source>
        <translation>&amp;طلب تسجيل الدخول بخطوتين للمسؤولين</translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation>طلب تسجيل الدخول بخطوتين للمسؤولين</translation>
    </message>
    <message>
        <source>Administrators then sign in with a code from an authenticator app too; one without it is taken to set it up right after the password. Set up your own first (Account window).</source>
        <translation>عندئذٍ يسجّل المسؤولون الدخول برمز من تطبيق المصادقة أيضًا؛ ومن لم يُعِدّه منهم يُنقل إلى إعداده مباشرةً بعد إدخال كلمة المرور. أعِدّ تسجيل الدخول بخطوتين لحسابك أولًا (نافذة «الحساب»).</translation>
    </message>
    <message>
        <source>Self-registration:</source>
        <translation>التسجيل الذاتي:</translation>
    </message>
    <message>
        <source>Two-factor sign-in:</source>
        <translation>تسجيل الدخول بخطوتين:</translation>
    </message>
    <message>
        <source>Failed sign-ins before a &amp;lockout:</source>
        <translation>عدد محاولات تسجيل الدخول الفاشلة قبل ال&amp;قفل:</translation>
    </message>
    <message>
        <source>&amp;First lockout:</source>
        <translation>القفل ال&amp;أول:</translation>
    </message>
    <message>
        <source>Lo&amp;ngest lockout:</source>
        <translation>أطول &amp;مدة قفل:</translation>
    </message>
    <message>
        <source>&amp;Idle sign-out after:</source>
        <translation>تسجيل الخروج عند ال&amp;خمول بعد:</translation>
    </message>
    <message>
        <source>&amp;Temporary passwords expire after:</source>
        <translation>ت&amp;نتهي صلاحية كلمات المرور المؤقتة بعد:</translation>
    </message>
    <message>
        <source>Sa&amp;ve settings</source>
        <translation>&amp;حفظ الإعدادات</translation>
    </message>
    <message>
        <source>Save settings</source>
        <translation>حفظ الإعدادات</translation>
    </message>
    <message>
        <source>These settings are stored in the database: every client of this database follows them.</source>
        <translation>تُخزَّن هذه الإعدادات في قاعدة البيانات: ويلتزم بها كل عميل لقاعدة البيانات هذه.</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>تم الحفظ.</translation>
    </message>
</context>
<context>
    <name>SetupAdminDialog</name>
    <message>
        <source>Create the administrator account</source>
        <translation>إنشاء حساب المسؤول</translation>
    </message>
    <message>
        <source>This database has no administrator yet. The account you create here manages everyone else's.</source>
        <translation>لا يوجد في قاعدة البيانات هذه مسؤول حتى الآن. الحساب الذي تنشئه هنا يدير حسابات جميع الآخرين.</translation>
    </message>
    <message>
        <source>&amp;Create administrator</source>
        <translation>إ&amp;نشاء حساب المسؤول</translation>
    </message>
    <message>
        <source>Create administrator</source>
        <translation>إنشاء حساب المسؤول</translation>
    </message>
    <message>
        <source>What you typed to sign in is kept below.</source>
        <translation>تم الاحتفاظ أدناه بما كتبته لتسجيل الدخول.</translation>
    </message>
    <message>
        <source>Creating the administrator…</source>
        <translation>جارٍ إنشاء حساب المسؤول…</translation>
    </message>
    <message>
        <source>Your administrator account was created, but signing in failed: {reason}</source>
        <translation>تم إنشاء حساب المسؤول الخاص بك، لكن تسجيل الدخول فشل: {reason}</translation>
    </message>
</context>
<context>
    <name>SharedSettings</name>
    <message>
        <source>Self-registration</source>
        <translation>التسجيل الذاتي</translation>
    </message>
    <message>
        <source>Failed sign-ins before a lockout</source>
        <translation>محاولات تسجيل الدخول الفاشلة قبل القفل</translation>
    </message>
    <message>
        <source>First lockout (seconds)</source>
        <translation>مدة القفل الأولى (بالثواني)</translation>
    </message>
    <message>
        <source>Longest lockout (seconds)</source>
        <translation>أطول مدة قفل (بالثواني)</translation>
    </message>
    <message>
        <source>Idle sign-out (minutes)</source>
        <translation>تسجيل الخروج عند الخمول (بالدقائق)</translation>
    </message>
    <message>
        <source>Temporary passwords expire after (hours)</source>
        <translation>تنتهي صلاحية كلمات المرور المؤقتة بعد (بالساعات)</translation>
    </message>
    <message>
        <source>Require two-factor sign-in for administrators</source>
        <translation>اشتراط تسجيل الدخول بخطوتين للمسؤولين</translation>
    </message>
    <message>
        <source>{setting} must be between {low} and {high}.</source>
        <translation>يجب أن تكون قيمة {setting} بين {low} و{high}.</translation>
    </message>
    <message>
        <source>The longest lockout cannot be shorter than the first one.</source>
        <translation>لا يمكن أن تكون أطول مدة قفل أقصر من مدة القفل الأولى.</translation>
    </message>
    <message>
        <source>Set up two-factor sign-in for your own account first (Account window, Two-factor sign-in).</source>
        <translation>أعدّ تسجيل الدخول بخطوتين لحسابك أولًا (نافذة الحساب، تسجيل الدخول بخطوتين).</translation>
    </message>
    <message>
        <source>Unknown setting: {names}.</source>
        <translation>إعداد غير معروف: {names}.</translation>
    </message>
</context>
<context>
    <name>StartupErrorDialog</name>
    <message>
        <source>An operator upgrades the database schema with:</source>
        <translation>يُرقّي مشغّل النظام مخطط قاعدة البيانات باستخدام:</translation>
    </message>
    <message>
        <source>Install the version of desktop-auth that matches this database.</source>
        <translation>ثبّت إصدار desktop-auth المطابق لقاعدة البيانات هذه.</translation>
    </message>
    <message>
        <source>Correct DATABASE_URL in the environment or the .env file (or the file DATABASE_URL_FILE names), for example:</source>
        <translation>صحّح DATABASE_URL في البيئة أو في الملف .env (أو في الملف الذي يحدده DATABASE_URL_FILE)، على سبيل المثال:</translation>
    </message>
    <message>
        <source>Correct that setting in the environment or the .env file (see .env.example), then retry.</source>
        <translation>صحّح هذا الإعداد في البيئة أو في الملف .env (راجع .env.example)، ثم أعد المحاولة.</translation>
    </message>
    <message>
        <source>Check that the database server is running and reachable, then retry. To test it:</source>
        <translation>تحقّق من أن خادم قاعدة البيانات يعمل ويمكن الوصول إليه، ثم أعد المحاولة. لاختباره:</translation>
    </message>
    <message>
        <source>Retry; if it happens again, the log file has the details.</source>
        <translation>أعد المحاولة؛ وإذا تكرر ذلك، فستجد التفاصيل في ملف السجل.</translation>
    </message>
    <message>
        <source>Cannot open the database</source>
        <translation>يتعذّر فتح قاعدة البيانات</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>إ&amp;عادة المحاولة</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>إعادة المحاولة</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>إ&amp;نهاء</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>إنهاء</translation>
    </message>
</context>
<context>
    <name>StrengthMeter</name>
    <message>
        <source>Very weak</source>
        <translation>ضعيفة جدًا</translation>
    </message>
    <message>
        <source>Weak</source>
        <translation>ضعيفة</translation>
    </message>
    <message>
        <source>Fair</source>
        <translation>مقبولة</translation>
    </message>
    <message>
        <source>Strong</source>
        <translation>قوية</translation>
    </message>
    <message>
        <source>Very strong</source>
        <translation>قوية جدًا</translation>
    </message>
    <message>
        <source>Password strength</source>
        <translation>قوة كلمة المرور</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordDialog</name>
    <message>
        <source>Reset the password of {email}?</source>
        <translation>هل تريد إعادة تعيين كلمة مرور {email}؟</translation>
    </message>
    <message numerus="yes">
        <source>Reset the passwords of {n} account?</source>
        <comment>Reset the passwords of {n} accounts?</comment>
        <translation>
            <numerusform>هل تريد إعادة تعيين كلمات المرور لـ {n} حساب؟</numerusform>
            <numerusform>هل تريد إعادة تعيين كلمة المرور لحساب واحد؟</numerusform>
            <numerusform>هل تريد إعادة تعيين كلمات المرور لحسابين؟</numerusform>
            <numerusform>هل تريد إعادة تعيين كلمات المرور لـ {n} حسابات؟</numerusform>
            <numerusform>هل تريد إعادة تعيين كلمات المرور لـ {n} حسابًا؟</numerusform>
            <numerusform>هل تريد إعادة تعيين كلمات المرور لـ {n} حساب؟</numerusform>
        </translation>
    </message>
    <message>
        <source>Reset password</source>
        <translation>إعادة تعيين كلمة المرور</translation>
    </message>
    <message>
        <source>&amp;Reset passwords</source>
        <translation>إعادة &amp;تعيين كلمات المرور</translation>
    </message>
    <message>
        <source>&amp;Reset password</source>
        <translation>إعادة &amp;تعيين كلمة المرور</translation>
    </message>
    <message>
        <source>Reset the passwords</source>
        <translation>إعادة تعيين كلمات المرور</translation>
    </message>
    <message>
        <source>Reset the password</source>
        <translation>إعادة تعيين كلمة المرور</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message numerus="yes">
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hour.</source>
        <comment>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after {n} hours.</comment>
        <translation>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد {n} ساعة.</numerusform>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد ساعة واحدة.</numerusform>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد ساعتين.</numerusform>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد {n} ساعات.</numerusform>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد {n} ساعة.</numerusform>
            <numerusform>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد {n} ساعة.</numerusform>
        </translation>
    </message>
    <message>
        <source>Each account gets its own random temporary password, shown to you once, here, after the reset. Current passwords stop working at once. The new ones must be changed at the next sign-in and expire after the time set in Settings.</source>
        <translation>يحصل كل حساب على كلمة مرور مؤقتة عشوائية خاصة به، تُعرض عليك مرة واحدة هنا بعد إعادة التعيين. تتوقف كلمات المرور الحالية عن العمل فورًا. يجب تغيير كلمات المرور الجديدة عند تسجيل الدخول التالي، وتنتهي صلاحيتها بعد المدة المحددة في الإعدادات.</translation>
    </message>
    <message numerus="yes">
        <source>Resetting {n} password…</source>
        <comment>Resetting {n} passwords…</comment>
        <translation>
            <numerusform>جارٍ إعادة تعيين {n} كلمة مرور…</numerusform>
            <numerusform>جارٍ إعادة تعيين كلمة مرور واحدة…</numerusform>
            <numerusform>جارٍ إعادة تعيين كلمتَي مرور…</numerusform>
            <numerusform>جارٍ إعادة تعيين {n} كلمات مرور…</numerusform>
            <numerusform>جارٍ إعادة تعيين {n} كلمة مرور…</numerusform>
            <numerusform>جارٍ إعادة تعيين {n} كلمة مرور…</numerusform>
        </translation>
    </message>
    <message>
        <source>Temporary passwords</source>
        <translation>كلمات المرور المؤقتة</translation>
    </message>
    <message>
        <source>Give each person their own password; they expire at {expires}. They are shown only now: copy or export them before you close this window.</source>
        <translation>أعطِ كل شخص كلمة المرور الخاصة به؛ تنتهي صلاحيتها في {expires}. لن تُعرض إلا الآن: انسخها أو صدّرها قبل إغلاق هذه النافذة.</translation>
    </message>
    <message>
        <source>&amp;Passwords:</source>
        <translation>&amp;كلمات المرور:</translation>
    </message>
    <message>
        <source>Copy &amp;all</source>
        <translation>نسخ ا&amp;لكل</translation>
    </message>
    <message>
        <source>Copy all passwords</source>
        <translation>نسخ كل كلمات المرور</translation>
    </message>
    <message>
        <source>&amp;Copy selected</source>
        <translation>&amp;نسخ المحدد</translation>
    </message>
    <message>
        <source>Copy the selected passwords</source>
        <translation>نسخ كلمات المرور المحددة</translation>
    </message>
    <message>
        <source>&amp;Export…</source>
        <translation>&amp;تصدير…</translation>
    </message>
    <message>
        <source>Export the passwords to a file</source>
        <translation>تصدير كلمات المرور إلى ملف</translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>إ&amp;غلاق</translation>
    </message>
    <message>
        <source>Close and forget the passwords</source>
        <translation>إغلاق النافذة ونسيان كلمات المرور</translation>
    </message>
    <message numerus="yes">
        <source>Copied {n} password.</source>
        <comment>Copied {n} passwords.</comment>
        <translation>
            <numerusform>تم نسخ {n} كلمة مرور.</numerusform>
            <numerusform>تم نسخ كلمة مرور واحدة.</numerusform>
            <numerusform>تم نسخ كلمتَي مرور.</numerusform>
            <numerusform>تم نسخ {n} كلمات مرور.</numerusform>
            <numerusform>تم نسخ {n} كلمة مرور.</numerusform>
            <numerusform>تم نسخ {n} كلمة مرور.</numerusform>
        </translation>
    </message>
    <message>
        <source>Export temporary passwords</source>
        <translation>تصدير كلمات المرور المؤقتة</translation>
    </message>
    <message>
        <source>CSV files</source>
        <translation>ملفات CSV</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>جارٍ التصدير…</translation>
    </message>
    <message numerus="yes">
        <source>Exported {n} password to {path} (readable only by you).</source>
        <comment>Exported {n} passwords to {path} (readable only by you).</comment>
        <translation>
            <numerusform>تم تصدير {n} كلمة مرور إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
            <numerusform>تم تصدير كلمة مرور واحدة إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
            <numerusform>تم تصدير كلمتَي مرور إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
            <numerusform>تم تصدير {n} كلمات مرور إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
            <numerusform>تم تصدير {n} كلمة مرور إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
            <numerusform>تم تصدير {n} كلمة مرور إلى {path} (لا يمكن لأحد غيرك قراءته).</numerusform>
        </translation>
    </message>
    <message>
        <source>None of the passwords were copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <translation>لم تُنسخ أي كلمة مرور ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</translation>
    </message>
    <message numerus="yes">
        <source>{unkept} of {n} passwords were not copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</source>
        <comment>{unkept} of {n} passwords were not copied or exported. They are not shown again: those accounts will need another reset before anyone can sign in to them.</comment>
        <translation>
            <numerusform>{unkept} من أصل {n} كلمة مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
            <numerusform>{unkept} من أصل {n} كلمة مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
            <numerusform>{unkept} من أصل {n} كلمة مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
            <numerusform>{unkept} من أصل {n} كلمات مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
            <numerusform>{unkept} من أصل {n} كلمة مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
            <numerusform>{unkept} من أصل {n} كلمة مرور لم تُنسخ ولم تُصدَّر. لن تُعرض مرة أخرى: ستحتاج تلك الحسابات إلى إعادة تعيين أخرى قبل أن يتمكن أي شخص من تسجيل الدخول إليها.</numerusform>
        </translation>
    </message>
    <message>
        <source>Close without copying?</source>
        <translation>هل تريد الإغلاق دون النسخ؟</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswordModel</name>
    <message>
        <source>Email</source>
        <translation>البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Temporary password</source>
        <translation>كلمة المرور المؤقتة</translation>
    </message>
</context>
<context>
    <name>TemporaryPasswords</name>
    <message>
        <source>The password policy allows at most {limit} characters, too few for a safe temporary password ({needed}). Raise DESKTOP_AUTH_PASSWORD_MAX_LENGTH.</source>
        <translation>تسمح سياسة كلمات المرور بطول أقصى قدره {limit}، وهو أقل من اللازم لكلمة مرور مؤقتة آمنة ({needed}). ارفع قيمة DESKTOP_AUTH_PASSWORD_MAX_LENGTH.</translation>
    </message>
    <message>
        <source>Could not write {path}: {reason}.</source>
        <translation>تعذّرت كتابة {path}: {reason}.</translation>
    </message>
</context>
<context>
    <name>TotpCodeDialog</name>
    <message>
        <source>Two-factor sign-in</source>
        <translation>تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Type the code your authenticator app shows for {email}. Lost your phone? Type one of your recovery codes instead.</source>
        <translation>اكتب الرمز الذي يعرضه تطبيق المصادقة للحساب {email}. هل فقدت هاتفك؟ اكتب أحد رموز الاسترداد بدلًا من ذلك.</translation>
    </message>
    <message numerus="yes">
        <source>{n} digit, or a recovery code</source>
        <comment>{n} digits, or a recovery code</comment>
        <translation>
            <numerusform>{n} رقم، أو رمز استرداد</numerusform>
            <numerusform>رقم واحد، أو رمز استرداد</numerusform>
            <numerusform>رقمان، أو رمز استرداد</numerusform>
            <numerusform>{n} أرقام، أو رمز استرداد</numerusform>
            <numerusform>{n} رقمًا، أو رمز استرداد</numerusform>
            <numerusform>{n} رقم، أو رمز استرداد</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Code:</source>
        <translation>ال&amp;رمز:</translation>
    </message>
    <message>
        <source>&amp;Verify</source>
        <translation>&amp;تحقق</translation>
    </message>
    <message>
        <source>Verify the code</source>
        <translation>التحقق من الرمز</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Cancel and go back to the sign-in form</source>
        <translation>الإلغاء والعودة إلى نموذج تسجيل الدخول</translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows, or a recovery code.</source>
        <translation>أدخل الرمز الذي يعرضه تطبيق المصادقة، أو رمز استرداد.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>جارٍ التحقق من الرمز…</translation>
    </message>
</context>
<context>
    <name>TwoFactor</name>
    <message>
        <source>A stored two-factor secret has an unknown format.</source>
        <translation>أحد أسرار تسجيل الدخول بخطوتين المخزَّنة بتنسيق غير معروف.</translation>
    </message>
    <message>
        <source>Two-factor secrets in this database are encrypted: set DESKTOP_AUTH_TOTP_KEY to the organisation's key on this computer.</source>
        <translation>أسرار تسجيل الدخول بخطوتين في قاعدة البيانات هذه مشفّرة: اضبط DESKTOP_AUTH_TOTP_KEY على مفتاح المؤسسة على هذا الحاسوب.</translation>
    </message>
    <message>
        <source>DESKTOP_AUTH_TOTP_KEY on this computer is not the key these two-factor secrets were encrypted with.</source>
        <translation>قيمة DESKTOP_AUTH_TOTP_KEY على هذا الحاسوب ليست المفتاح الذي شُفّرت به أسرار تسجيل الدخول بخطوتين هذه.</translation>
    </message>
    <message>
        <source>The current password is incorrect.</source>
        <translation>كلمة المرور الحالية غير صحيحة.</translation>
    </message>
    <message>
        <source>That code is not right. Type the newest code your authenticator app shows (a code works once, and the phone's clock must be right).</source>
        <translation>هذا الرمز غير صحيح. اكتب أحدث رمز يعرضه تطبيق المصادقة (يصلح الرمز لمرة واحدة، ويجب أن تكون ساعة الهاتف مضبوطة).</translation>
    </message>
    <message>
        <source>Two-factor sign-in is already on for this account.</source>
        <translation>تسجيل الدخول بخطوتين مفعّل بالفعل لهذا الحساب.</translation>
    </message>
    <message>
        <source>Your password was changed meanwhile; sign in again.</source>
        <translation>تم تغيير كلمة مرورك في هذه الأثناء؛ سجّل الدخول مرة أخرى.</translation>
    </message>
    <message>
        <source>That is not a secret this app made; start again.</source>
        <translation>هذا ليس سرًا أنشأه هذا التطبيق؛ ابدأ من جديد.</translation>
    </message>
    <message>
        <source>Two-factor sign-in is not on for this account.</source>
        <translation>تسجيل الدخول بخطوتين غير مفعّل لهذا الحساب.</translation>
    </message>
    <message>
        <source>There is no account '{email}'.</source>
        <translation>لا يوجد حساب '{email}'.</translation>
    </message>
    <message>
        <source>{email} has no two-factor sign-in to reset.</source>
        <translation>لا يوجد لدى {email} تسجيل دخول بخطوتين لإعادة تعيينه.</translation>
    </message>
    <message>
        <source>Your account was changed elsewhere meanwhile (password or two-factor); try again.</source>
        <translation>تم تغيير حسابك من مكان آخر في هذه الأثناء (كلمة المرور أو تسجيل الدخول بخطوتين)؛ حاول مرة أخرى.</translation>
    </message>
    <message>
        <source>This organisation requires two-factor sign-in of administrators: it cannot be turned off. To move it to a new phone, turn it on again after an administrator resets it.</source>
        <translation>تشترط هذه المؤسسة تسجيل دخول المسؤولين بخطوتين: لا يمكن إيقافه. لنقله إلى هاتف جديد، فعّله مرة أخرى بعد أن يعيد أحد المسؤولين تعيينه.</translation>
    </message>
</context>
<context>
    <name>TwoFactorOffDialog</name>
    <message>
        <source>Turn off two-factor sign-in</source>
        <translation>إيقاف تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Signing in will ask for your password only. Type your current password and the code your authenticator app shows.</source>
        <translation>سيطلب تسجيل الدخول كلمة المرور فقط. اكتب كلمة المرور الحالية والرمز الذي يعرضه تطبيق المصادقة.</translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation>ال&amp;رمز من التطبيق:</translation>
    </message>
    <message>
        <source>&amp;Turn off</source>
        <translation>إ&amp;يقاف</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Turning it off…</source>
        <translation>جارٍ الإيقاف…</translation>
    </message>
</context>
<context>
    <name>TwoFactorSetupDialog</name>
    <message>
        <source>Your organisation requires administrators to sign in with an authenticator app too. Set it up now: scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation>تشترط مؤسستك على المسؤولين تسجيل الدخول باستخدام تطبيق مصادقة أيضًا. أعدّه الآن: امسح رمز QR ضوئيًا بالتطبيق (أو اكتب المفتاح السري فيه)، ثم اكتب الرمز الذي يعرضه.</translation>
    </message>
    <message>
        <source>After your password, signing in will also ask for a code from an authenticator app on your phone. Scan the QR code with the app (or type the secret key into it), then type the code it shows.</source>
        <translation>بعد كلمة المرور، سيطلب تسجيل الدخول أيضًا رمزًا من تطبيق مصادقة على هاتفك. امسح رمز QR ضوئيًا بالتطبيق (أو اكتب المفتاح السري فيه)، ثم اكتب الرمز الذي يعرضه.</translation>
    </message>
    <message>
        <source>Set up two-factor sign-in</source>
        <translation>إعداد تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>QR code for your authenticator app</source>
        <translation>رمز QR لتطبيق المصادقة</translation>
    </message>
    <message>
        <source>If you cannot scan it, type the secret key below into the app.</source>
        <translation>إذا تعذّر عليك مسحه ضوئيًا، فاكتب المفتاح السري أدناه في التطبيق.</translation>
    </message>
    <message>
        <source>Secret key</source>
        <translation>المفتاح السري</translation>
    </message>
    <message>
        <source>Co&amp;py</source>
        <translation>&amp;نسخ</translation>
    </message>
    <message>
        <source>Copy the secret key</source>
        <translation>نسخ المفتاح السري</translation>
    </message>
    <message>
        <source>&amp;Secret key:</source>
        <translation>المفتاح ال&amp;سري:</translation>
    </message>
    <message>
        <source>&amp;Code from the app:</source>
        <translation>ال&amp;رمز من التطبيق:</translation>
    </message>
    <message>
        <source>&amp;Turn on</source>
        <translation>&amp;تفعيل</translation>
    </message>
    <message>
        <source>Turn on two-factor sign-in</source>
        <translation>تفعيل تسجيل الدخول بخطوتين</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>إلغاء</translation>
    </message>
    <message>
        <source>Making a new secret key…</source>
        <translation>جارٍ إنشاء مفتاح سري جديد…</translation>
    </message>
    <message>
        <source>Copied the secret key.</source>
        <translation>تم نسخ المفتاح السري.</translation>
    </message>
    <message>
        <source>Enter your current password.</source>
        <translation>أدخل كلمة المرور الحالية.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>جارٍ التحقق من الرمز…</translation>
    </message>
</context>
<context>
    <name>UnfinishedBar</name>
    <message>
        <source>Res&amp;ume</source>
        <translation>اس&amp;تئناف</translation>
    </message>
    <message>
        <source>Resume the unfinished change</source>
        <translation>استئناف التغيير غير المكتمل</translation>
    </message>
    <message>
        <source>S&amp;top it</source>
        <translation>إي&amp;قافه</translation>
    </message>
    <message>
        <source>Stop the unfinished change where it is</source>
        <translation>إيقاف التغيير غير المكتمل عند النقطة التي وصل إليها</translation>
    </message>
    <message numerus="yes">
        <source>An unfinished change ({change}) has reached {done} of {n} user.</source>
        <comment>An unfinished change ({change}) has reached {done} of {n} users.</comment>
        <translation>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل {n} مستخدم.</numerusform>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل مستخدم واحد.</numerusform>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل مستخدمَين.</numerusform>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل {n} مستخدمين.</numerusform>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل {n} مستخدمًا.</numerusform>
            <numerusform>وصل تغيير غير مكتمل ({change}) إلى {done} من أصل {n} مستخدم.</numerusform>
        </translation>
    </message>
    <message>
        <source>{reached} It stopped: {reason}</source>
        <translation>{reached} وقد توقف: {reason}</translation>
    </message>
</context>
<context>
    <name>UserImport</name>
    <message numerus="yes">
        <source>the same address as lines {lines} and {n} more</source>
        <comment>the same address as lines {lines} and {n} more</comment>
        <translation>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} و{n} سطر آخر</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} وسطر آخر</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} وسطرين آخرين</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} و{n} أسطر أخرى</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} و{n} سطرًا آخر</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines} و{n} سطر آخر</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>the same address as line {lines}</source>
        <comment>the same address as lines {lines}</comment>
        <translation>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines}</numerusform>
            <numerusform>العنوان نفسه الموجود في السطر {lines}</numerusform>
            <numerusform>العنوان نفسه الموجود في السطرين {lines}</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines}</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines}</numerusform>
            <numerusform>العنوان نفسه الموجود في الأسطر {lines}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>looks like {address} on lines {lines} and {n} more</source>
        <comment>looks like {address} on lines {lines} and {n} more</comment>
        <translation>
            <numerusform>يشبه {address} في الأسطر {lines} و{n} سطر آخر</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines} وسطر آخر</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines} وسطرين آخرين</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines} و{n} أسطر أخرى</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines} و{n} سطرًا آخر</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines} و{n} سطر آخر</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>looks like {address} on line {lines}</source>
        <comment>looks like {address} on lines {lines}</comment>
        <translation>
            <numerusform>يشبه {address} في الأسطر {lines}</numerusform>
            <numerusform>يشبه {address} في السطر {lines}</numerusform>
            <numerusform>يشبه {address} في السطرين {lines}</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines}</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines}</numerusform>
            <numerusform>يشبه {address} في الأسطر {lines}</numerusform>
        </translation>
    </message>
    <message>
        <source>line {line}: the file is not UTF-8 text (byte {byte}); save it as UTF-8</source>
        <translation>السطر {line}: الملف ليس نصًا بترميز UTF-8 (البايت {byte})؛ احفظه بترميز UTF-8</translation>
    </message>
    <message>
        <source>the address is {length} characters long (at most {limit})</source>
        <translation>عدد أحرف العنوان {length} (الحد الأقصى {limit})</translation>
    </message>
    <message>
        <source>the role is {length} characters long (at most {limit})</source>
        <translation>عدد أحرف الدور {length} (الحد الأقصى {limit})</translation>
    </message>
    <message>
        <source>the address starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation>يبدأ العنوان بـ '{start}'، وسيعامله برنامج جداول البيانات كصيغة</translation>
    </message>
    <message>
        <source>the role starts with '{start}', which a spreadsheet would run as a formula</source>
        <translation>يبدأ الدور بـ '{start}'، وسيعامله برنامج جداول البيانات كصيغة</translation>
    </message>
    <message>
        <source>the address contains an invisible or control character ({characters})</source>
        <translation>يحتوي العنوان على حرف غير مرئي أو حرف تحكم ({characters})</translation>
    </message>
    <message>
        <source>the role contains an invisible or control character ({characters})</source>
        <translation>يحتوي الدور على حرف غير مرئي أو حرف تحكم ({characters})</translation>
    </message>
    <message>
        <source>line 1: the first line must name the columns: email,role (or email;role, or email); found '{found}'</source>
        <translation>السطر 1: يجب أن يحدد السطر الأول أسماء الأعمدة: email,role (أو email;role، أو email)؛ وُجد '{found}'</translation>
    </message>
    <message>
        <source>line {line}: the file has more than {limit} rows; import at most {limit} at once (split the file)</source>
        <translation>السطر {line}: عدد صفوف الملف يتجاوز {limit}؛ الحد الأقصى للصفوف في الاستيراد الواحد هو {limit} (قسّم الملف)</translation>
    </message>
    <message>
        <source>line {line}: the file is not valid CSV ({detail})</source>
        <translation>السطر {line}: الملف ليس ملف CSV صالحًا ({detail})</translation>
    </message>
    <message numerus="yes">
        <source>expected {n} cell ({columns}), found {found}</source>
        <comment>expected {n} cells ({columns}), found {found}</comment>
        <translation>
            <numerusform>المتوقع {n} خلية ({columns})، والموجود {found}</numerusform>
            <numerusform>المتوقع خلية واحدة ({columns})، والموجود {found}</numerusform>
            <numerusform>المتوقع خليتان ({columns})، والموجود {found}</numerusform>
            <numerusform>المتوقع {n} خلايا ({columns})، والموجود {found}</numerusform>
            <numerusform>المتوقع {n} خلية ({columns})، والموجود {found}</numerusform>
            <numerusform>المتوقع {n} خلية ({columns})، والموجود {found}</numerusform>
        </translation>
    </message>
    <message>
        <source>no address</source>
        <translation>لا يوجد عنوان</translation>
    </message>
    <message>
        <source>invalid address: {reason}</source>
        <translation>عنوان غير صالح: {reason}</translation>
    </message>
    <message>
        <source>unknown role '{role}'</source>
        <translation>دور غير معروف '{role}'</translation>
    </message>
    <message>
        <source>an account with this address already exists</source>
        <translation>يوجد حساب بهذا العنوان بالفعل</translation>
    </message>
    <message>
        <source>looks too much like the existing account {address}</source>
        <translation>يشبه كثيرًا الحساب الموجود {address}</translation>
    </message>
    <message>
        <source>Could not read {path}: {reason}.</source>
        <translation>تعذّرت قراءة {path}: {reason}.</translation>
    </message>
    <message>
        <source>line 1: the file is larger than {megabytes} MB; import at most {limit} rows at once (split the file)</source>
        <translation>السطر 1: حجم الملف أكبر من {megabytes} ميغابايت؛ الحد الأقصى للصفوف في الاستيراد الواحد هو {limit} (قسّم الملف)</translation>
    </message>
    <message>
        <source>line {line}: the file has no rows to import</source>
        <translation>السطر {line}: لا يحتوي الملف على صفوف للاستيراد</translation>
    </message>
    <message>
        <source>The file has no rows to import.</source>
        <translation>لا يحتوي الملف على صفوف للاستيراد.</translation>
    </message>
    <message>
        <source>A role of the file was removed meanwhile; nothing was imported.</source>
        <translation>أُزيل في هذه الأثناء دور مذكور في الملف؛ لم يُستورد أي شيء.</translation>
    </message>
    <message>
        <source>There is no role named '{role}' (removed meanwhile); nothing was imported.</source>
        <translation>لا يوجد دور باسم '{role}' (أُزيل في هذه الأثناء)؛ لم يُستورد أي شيء.</translation>
    </message>
</context>
<context>
    <name>UserTable</name>
    <message>
        <source>Email</source>
        <translation>البريد الإلكتروني</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>الدور</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>نشط</translation>
    </message>
    <message>
        <source>Locked until</source>
        <translation>مقفل حتى</translation>
    </message>
    <message>
        <source>Last sign-in</source>
        <translation>آخر تسجيل دخول</translation>
    </message>
    <message>
        <source>Sign-ins</source>
        <translation>مرات تسجيل الدخول</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>تاريخ الإنشاء</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>تاريخ التحديث</translation>
    </message>
    <message>
        <source>Must change password</source>
        <translation>يجب تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>Temporary password expires</source>
        <translation>انتهاء صلاحية كلمة المرور المؤقتة</translation>
    </message>
    <message>
        <source>Recovery codes</source>
        <translation>رموز الاسترداد</translation>
    </message>
    <message>
        <source>2FA</source>
        <translation>2FA</translation>
    </message>
    <message>
        <source>Must change
password</source>
        <translation>يجب تغيير
كلمة المرور</translation>
    </message>
    <message>
        <source>Temporary password
expires</source>
        <translation>انتهاء صلاحية
كلمة المرور المؤقتة</translation>
    </message>
    <message>
        <source>Recovery
codes</source>
        <translation>رموز
الاسترداد</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>نعم</translation>
    </message>
    <message>
        <source>no</source>
        <translation>لا</translation>
    </message>
    <message>
        <source>expired</source>
        <translation>منتهية الصلاحية</translation>
    </message>
    <message>
        <source>on</source>
        <translation>مفعّل</translation>
    </message>
    <message>
        <source>off</source>
        <translation>معطّل</translation>
    </message>
    <message>
        <source>must change password</source>
        <translation>يجب تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>need not change password</source>
        <translation>لا يلزم تغيير كلمة المرور</translation>
    </message>
    <message>
        <source>no temporary password</source>
        <translation>لا توجد كلمة مرور مؤقتة</translation>
    </message>
    <message>
        <source>temporary password expired</source>
        <translation>انتهت صلاحية كلمة المرور المؤقتة</translation>
    </message>
    <message>
        <source>temporary password expires {moment}</source>
        <translation>تنتهي صلاحية كلمة المرور المؤقتة في {moment}</translation>
    </message>
    <message>
        <source>no recovery codes left</source>
        <translation>لم يتبقَّ أي رمز استرداد</translation>
    </message>
    <message numerus="yes">
        <source>{n} recovery code left</source>
        <comment>{n} recovery codes left</comment>
        <translation>
            <numerusform>تبقّى {n} رمز استرداد</numerusform>
            <numerusform>تبقّى رمز استرداد واحد</numerusform>
            <numerusform>تبقّى رمزا استرداد</numerusform>
            <numerusform>تبقّت {n} رموز استرداد</numerusform>
            <numerusform>تبقّى {n} رمز استرداد</numerusform>
            <numerusform>تبقّى {n} رمز استرداد</numerusform>
        </translation>
    </message>
    <message>
        <source>two-factor on</source>
        <translation>تسجيل الدخول بخطوتين مفعّل</translation>
    </message>
    <message>
        <source>two-factor off</source>
        <translation>تسجيل الدخول بخطوتين معطّل</translation>
    </message>
</context>
<context>
    <name>UserTableView</name>
    <message>
        <source>Users</source>
        <translation>المستخدمون</translation>
    </message>
</context>
<context>
    <name>UsersTab</name>
    <message>
        <source>&amp;Revert</source>
        <translation>&amp;تراجع</translation>
    </message>
    <message>
        <source>Revert unsaved changes</source>
        <translation>التراجع عن التغييرات غير المحفوظة</translation>
    </message>
    <message>
        <source>Sa&amp;ve</source>
        <translation>&amp;حفظ</translation>
    </message>
    <message>
        <source>Save changes</source>
        <translation>حفظ التغييرات</translation>
    </message>
    <message>
        <source>Loading</source>
        <translation>جارٍ التحميل</translation>
    </message>
    <message>
        <source>Counting users…</source>
        <translation>جارٍ عدّ المستخدمين…</translation>
    </message>
    <message numerus="yes">
        <source>{n} user</source>
        <comment>{n} users</comment>
        <translation>
            <numerusform>لا يوجد مستخدمون</numerusform>
            <numerusform>مستخدم واحد</numerusform>
            <numerusform>مستخدمان</numerusform>
            <numerusform>{n} مستخدمين</numerusform>
            <numerusform>{n} مستخدمًا</numerusform>
            <numerusform>{n} مستخدم</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{n} selected</source>
        <comment>{n} selected</comment>
        <translation>
            <numerusform>المحدد: {n}</numerusform>
            <numerusform>المحدد: {n}</numerusform>
            <numerusform>المحدد: {n}</numerusform>
            <numerusform>المحدد: {n}</numerusform>
            <numerusform>المحدد: {n}</numerusform>
            <numerusform>المحدد: {n}</numerusform>
        </translation>
    </message>
    <message>
        <source>Choosing the selected users…</source>
        <translation>جارٍ تحديد المستخدمين…</translation>
    </message>
    <message>
        <source>unsaved: {change}</source>
        <translation>غير محفوظ: {change}</translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved change (marked)</source>
        <comment>{n} unsaved changes (marked)</comment>
        <translation>
            <numerusform>{n} تغيير غير محفوظ (مُعلَّمة)</numerusform>
            <numerusform>تغيير واحد غير محفوظ (مُعلَّم)</numerusform>
            <numerusform>تغييران غير محفوظين (مُعلَّمان)</numerusform>
            <numerusform>{n} تغييرات غير محفوظة (مُعلَّمة)</numerusform>
            <numerusform>{n} تغييرًا غير محفوظ (مُعلَّمة)</numerusform>
            <numerusform>{n} تغيير غير محفوظ (مُعلَّمة)</numerusform>
        </translation>
    </message>
    <message>
        <source>{old} → {new}</source>
        <translation>{old} ← {new}</translation>
    </message>
    <message numerus="yes">
        <source>{n} unsaved role change now names the renamed role ({renames}).</source>
        <comment>{n} unsaved role changes now name the renamed role ({renames}).</comment>
        <translation>
            <numerusform>{n} من تغييرات الأدوار غير المحفوظة تشير الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
            <numerusform>تغيير دور واحد غير محفوظ يشير الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
            <numerusform>تغييرا دور غير محفوظين يشيران الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
            <numerusform>{n} تغييرات أدوار غير محفوظة تشير الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
            <numerusform>{n} من تغييرات الأدوار غير المحفوظة تشير الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
            <numerusform>{n} من تغييرات الأدوار غير المحفوظة تشير الآن إلى الدور المُعاد تسميته ({renames}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped {n} unsaved role change: the role is gone ({roles}).</source>
        <comment>Dropped {n} unsaved role changes: the role is gone ({roles}).</comment>
        <translation>
            <numerusform>تم إلغاء {n} من تغييرات الأدوار غير المحفوظة: لم يعد الدور موجودًا ({roles}).</numerusform>
            <numerusform>تم إلغاء تغيير دور واحد غير محفوظ: لم يعد الدور موجودًا ({roles}).</numerusform>
            <numerusform>تم إلغاء تغييرَي دور غير محفوظين: لم يعد الدور موجودًا ({roles}).</numerusform>
            <numerusform>تم إلغاء {n} تغييرات أدوار غير محفوظة: لم يعد الدور موجودًا ({roles}).</numerusform>
            <numerusform>تم إلغاء {n} من تغييرات الأدوار غير المحفوظة: لم يعد الدور موجودًا ({roles}).</numerusform>
            <numerusform>تم إلغاء {n} من تغييرات الأدوار غير المحفوظة: لم يعد الدور موجودًا ({roles}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Dropped the unsaved change for {n} selected user: its role {role} is gone.</source>
        <comment>Dropped the unsaved change for {n} selected users: its role {role} is gone.</comment>
        <translation>
            <numerusform>تم إلغاء التغيير غير المحفوظ لـ {n} مستخدم محدد: لم يعد الدور {role} موجودًا.</numerusform>
            <numerusform>تم إلغاء التغيير غير المحفوظ لمستخدم محدد واحد: لم يعد الدور {role} موجودًا.</numerusform>
            <numerusform>تم إلغاء التغيير غير المحفوظ لمستخدمَين محددَين: لم يعد الدور {role} موجودًا.</numerusform>
            <numerusform>تم إلغاء التغيير غير المحفوظ لـ {n} مستخدمين محددين: لم يعد الدور {role} موجودًا.</numerusform>
            <numerusform>تم إلغاء التغيير غير المحفوظ لـ {n} مستخدمًا محددًا: لم يعد الدور {role} موجودًا.</numerusform>
            <numerusform>تم إلغاء التغيير غير المحفوظ لـ {n} مستخدم محدد: لم يعد الدور {role} موجودًا.</numerusform>
        </translation>
    </message>
    <message>
        <source>Remove your own administrator role?</source>
        <translation>هل تريد إزالة دور المسؤول من حسابك؟</translation>
    </message>
    <message>
        <source>You are about to take away your own administrator role. You will lose access to this window.</source>
        <translation>أنت على وشك إزالة دور المسؤول من حسابك. ستفقد إمكانية الوصول إلى هذه النافذة.</translation>
    </message>
    <message numerus="yes">
        <source>Saved changes to {n} user.</source>
        <comment>Saved changes to {n} users.</comment>
        <translation>
            <numerusform>تم حفظ التغييرات لـ {n} مستخدم.</numerusform>
            <numerusform>تم حفظ التغييرات لمستخدم واحد.</numerusform>
            <numerusform>تم حفظ التغييرات لمستخدمَين.</numerusform>
            <numerusform>تم حفظ التغييرات لـ {n} مستخدمين.</numerusform>
            <numerusform>تم حفظ التغييرات لـ {n} مستخدمًا.</numerusform>
            <numerusform>تم حفظ التغييرات لـ {n} مستخدم.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>fields</name>
    <message>
        <source>The passwords do not match.</source>
        <translation>كلمتا المرور غير متطابقتين.</translation>
    </message>
    <message>
        <source>Email address</source>
        <translation>عنوان البريد الإلكتروني</translation>
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
        <translation>مساعدة</translation>
    </message>
    <message>
        <source>{title} — desktop-auth help</source>
        <translation>{title} — مساعدة desktop-auth</translation>
    </message>
</context>
<context>
    <name>messages</name>
    <message>
        <source>Something unexpected went wrong. The details are in the log file; please try again.</source>
        <translation>حدث خطأ غير متوقع. التفاصيل موجودة في ملف السجل؛ يُرجى المحاولة مرة أخرى.</translation>
    </message>
</context>
<context>
    <name>totp_code</name>
    <message>
        <source>Authenticator code</source>
        <translation>رمز المصادقة</translation>
    </message>
    <message numerus="yes">
        <source>{n} digit</source>
        <comment>{n} digits</comment>
        <translation>
            <numerusform>{n} رقم</numerusform>
            <numerusform>رقم واحد</numerusform>
            <numerusform>رقمان</numerusform>
            <numerusform>{n} أرقام</numerusform>
            <numerusform>{n} رقمًا</numerusform>
            <numerusform>{n} رقم</numerusform>
        </translation>
    </message>
    <message>
        <source>Enter the code your authenticator app shows.</source>
        <translation>أدخل الرمز الذي يعرضه تطبيق المصادقة.</translation>
    </message>
    <message numerus="yes">
        <source>A code is {n} digit, like 123 456.</source>
        <comment>A code is {n} digits, like 123 456.</comment>
        <translation>
            <numerusform>يتكون الرمز من {n} رقم، مثل 123 456.</numerusform>
            <numerusform>يتكون الرمز من رقم واحد، مثل 123 456.</numerusform>
            <numerusform>يتكون الرمز من رقمين، مثل 123 456.</numerusform>
            <numerusform>يتكون الرمز من {n} أرقام، مثل 123 456.</numerusform>
            <numerusform>يتكون الرمز من {n} رقمًا، مثل 123 456.</numerusform>
            <numerusform>يتكون الرمز من {n} رقم، مثل 123 456.</numerusform>
        </translation>
    </message>
</context>
</TS>

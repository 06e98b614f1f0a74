//! The user-facing text of the client in Swedish and English, and the choice between them.
//!
//! Both dictionaries must have exactly the same keys: `en` is typed from `sv`, so a missing or an
//! extra key is a compile error, not a blank label at run time. Dates and times are formatted here
//! too, so they follow the same choice. This module does not touch the DOM; the shell and the
//! pages apply the text.

/** The languages the client speaks. Swedish is the house language. */
export type Lang = "sv" | "en";

export const languages: readonly Lang[] = ["sv", "en"];

/** The name of each language in itself, for the language switch (never translated). */
export const endonyms: Readonly<Record<Lang, string>> = { sv: "Svenska", en: "English" };

const sv = {
  documentTitle: "Trygg – säkra digitala kundmöten",
  skipToContent: "Hoppa till huvudinnehållet",
  tagline: "Säkra digitala kundmöten",
  mainMenu: "Huvudmeny",
  home: "Start",
  language: "Språk",
  heading: "Välkommen till Trygg",
  welcome:
    "Här möter du din rådgivare i ett säkert digitalt möte. Har du fått en möteslänk? Öppna den, så kommer du direkt till mötet.",
  loading: "Hämtar uppgifter från servern …",
  loadFailed: "Det gick inte att nå servern. Kontrollera din anslutning och ladda om sidan.",
  reload: "Ladda om sidan",
  operatedBy: "Tillhandahålls av {organisation}",
  version: "{product} version {version}",
  pageTitle: "{page} – Trygg",
  signIn: "Logga in",
  myAccount: "Mitt konto",
  working: "Arbetar …",
  continue: "Fortsätt",
  email: "E-postadress",
  password: "Lösenord",
  showPassword: "Visa lösenord",
  hidePassword: "Dölj lösenord",
  oneTimeCode: "Engångskod",
  oneTimeCodeHint: "Sex siffror från autentiseringsappen.",
  recoveryCode: "Återställningskod",
  recoveryCodeHint: "En av koderna du sparade när du aktiverade kontot. Bindestreck och mellanslag spelar ingen roll.",
  networkError: "Det gick inte att nå servern. Kontrollera din anslutning och försök igen.",
  unexpectedError: "Något gick fel hos servern. Försök igen om en stund.",
  throttledOne: "För många försök. Vänta 1 minut och försök igen.",
  throttledMany: "För många försök. Vänta {minutes} minuter och försök igen.",
  invalidCredentials: "E-postadressen eller lösenordet stämmer inte. Kontrollera dem och försök igen.",
  invalidCode: "Koden är fel eller har redan använts. Vänta på nästa kod och försök igen.",
  invalidRecoveryCode: "Återställningskoden är fel eller har redan använts. Kontrollera den eller använd en annan kod.",
  mfaExpired: "Inloggningen tog för lång tid. Börja om.",
  enrolmentInvalid: "Den här aktiveringslänken har gått ut eller har redan använts. Be din administratör om en ny.",
  passwordTooShort: "Lösenordet är för kort. Använd minst {min} tecken.",
  passwordTooLong: "Lösenordet är för långt. Välj ett kortare.",
  passwordCommon: "Det här lösenordet är för vanligt och lätt att gissa. Välj ett annat, till exempel några ord som bara du vet hör ihop.",
  passwordContextSpecific: "Lösenordet innehåller ditt namn, din e-postadress eller tjänstens namn. Välj ett annat.",
  passwordRepetitive: "Lösenordet upprepar samma tecken eller mönster. Välj ett med mer variation.",
  passwordRejected: "Lösenordet godtogs inte. Välj ett annat.",
  emailMissing: "Skriv din e-postadress.",
  passwordMissing: "Skriv ditt lösenord.",
  codeMalformed: "Skriv den sexsiffriga koden från autentiseringsappen.",
  recoveryCodeMissing: "Skriv en av dina återställningskoder.",
  signInIntro: "För personal. Du loggar in med ditt lösenord och en engångskod från autentiseringsappen i din telefon.",
  ssoOr: "eller",
  ssoSignIn: "Logga in med din organisations konto",
  ssoHint: "Via organisationens inloggningstjänst, med tvåstegsverifiering.",
  ssoErrorMfaRequired:
    "Din organisations inloggning bekräftade inte två steg (till exempel lösenord och kod). Logga in där med tvåstegsverifiering och försök igen.",
  ssoErrorNoAccount: "Det finns inget aktivt Trygg-konto för dig. Be din administratör om en inbjudan.",
  ssoErrorNoRole: "Din organisations inloggning gav dig ingen roll i Trygg. Be din administratör om behörighet.",
  ssoErrorState: "Inloggningen tog för lång tid eller startades i en annan webbläsare. Börja om.",
  ssoErrorCancelled: "Inloggningen avbröts hos din organisation. Försök igen.",
  ssoErrorUnavailable: "Din organisations inloggningstjänst svarar inte just nu. Försök igen om en stund.",
  ssoErrorClaimsMissing: "Inloggningstjänsten skickade inte de uppgifter som behövs. Kontakta din administratör.",
  ssoErrorFailed: "Inloggningen hos din organisation kunde inte bekräftas. Börja om, och kontakta din administratör om det upprepas.",
  codeStepIntro: "Öppna autentiseringsappen i din telefon och skriv den sexsiffriga koden för Trygg.",
  recoveryStepIntro: "Skriv en av dina återställningskoder. Varje kod fungerar bara en gång.",
  useRecoveryCode: "Använd en återställningskod i stället",
  useAppCode: "Använd en kod från appen i stället",
  startAgain: "Börja om",
  enrolTitle: "Aktivera ditt konto",
  enrolLoading: "Hämtar din aktivering …",
  tryAgain: "Försök igen",
  enrolNoToken: "Sidan behöver hela länken som du fick. Öppna länken från ditt e-postmeddelande igen.",
  enrolAccount: "Kontot",
  name: "Namn",
  enrolStepsHeading: "Så här gör du",
  enrolStepApp: "Installera en autentiseringsapp i din telefon, om du inte redan har en.",
  enrolStepScan: "Skanna QR-koden med appen, eller skriv in nyckeln för hand.",
  enrolStepForm: "Välj ett lösenord och skriv den sexsiffriga kod som appen visar.",
  enrolStepSave: "Spara dina återställningskoder. Du behöver dem om du tappar bort telefonen.",
  qrAlt: "QR-kod som lägger till Trygg i din autentiseringsapp",
  totpSecret: "Nyckel att skriva in för hand",
  newPassword: "Nytt lösenord",
  newPasswordHint: "Minst {min} tecken. Ett långt lösenord av flera ord är säkert och lätt att komma ihåg.",
  codeFromApp: "Kod från appen",
  enrolSubmit: "Aktivera kontot",
  recoveryTitle: "Spara dina återställningskoder",
  recoveryIntro:
    "Om du tappar bort telefonen kan du logga in med en av de här koderna i stället för en kod från appen. Varje kod fungerar en gång.",
  recoveryKeepSafe:
    "Spara koderna på ett säkert ställe, till exempel i en lösenordshanterare eller utskrivna och inlåsta, och visa dem inte för någon. De visas bara nu.",
  recoverySaved: "Jag har sparat koderna",
  accountTitle: "Mitt konto",
  accountLoading: "Hämtar ditt konto …",
  accountFailed: "Det gick inte att hämta ditt konto. Kontrollera din anslutning och ladda om sidan.",
  signedInAs: "Inloggad som {name} ({email})",
  roles: "Roller",
  noRoles: "Inga roller",
  roleAdmin: "Administratör",
  roleAdviser: "Rådgivare",
  roleAuditor: "Granskare",
  signOut: "Logga ut",
  sessionsTitle: "Dina inloggningar",
  sessionsIntro:
    "Här ser du var du är inloggad. Känner du inte igen en inloggning? Logga ut den och kontakta din administratör.",
  device: "Enhet",
  authMethod: "Inloggningssätt",
  createdAt: "Inloggad",
  lastSeen: "Senast aktiv",
  actions: "Åtgärd",
  thisDevice: "Den här enheten",
  signOutSession: "Logga ut den här inloggningen",
  sessionSignedOut: "Inloggningen på {device} är utloggad.",
  methodPasswordTotp: "Lösenord och kod från app",
  methodPasswordRecovery: "Lösenord och återställningskod",
  roleSecurityOfficer: "Säkerhetsansvarig",
  roleDpo: "Dataskyddsombud",
  roleSupervisor: "Arbetsledare",
  sessionExpired: "Din inloggning har gått ut. Logga in igen.",
  forbidden: "Du har inte behörighet att göra det här. Be en annan administratör om hjälp.",
  stepUpRequired: "Ändringen behöver bekräftas med en kod från autentiseringsappen. Försök igen.",
  administration: "Administration",
  adminTitle: "Administration",
  adminIntro:
    "Här bjuder du in personal och hanterar deras konton. Ändringar gäller direkt: personen loggas ut från alla sina inloggningar.",
  adminLoading: "Hämtar konton …",
  adminFailed: "Det gick inte att hämta kontona. Kontrollera din anslutning och ladda om sidan.",
  noAccess: "Du har inte behörighet till den här sidan.",
  noAccessHint: "Behöver du administrera konton? Be en administratör om den rollen.",
  toAccount: "Till mitt konto",
  inviteTitle: "Bjud in personal",
  inviteIntro:
    "Personen får en länk där hen väljer lösenord och kopplar sin autentiseringsapp. Kontot fungerar först när det är aktiverat.",
  rolesHint: "Välj minst en roll.",
  inviteSubmit: "Bjud in",
  inviteEmailMissing: "Skriv personens e-postadress.",
  inviteEmailInvalid: "Skriv en e-postadress som namn@exempel.se.",
  inviteNameMissing: "Skriv personens namn.",
  inviteNameInvalid: "Skriv personens namn, 1 till 200 tecken.",
  rolesMissing: "Välj minst en roll.",
  rolesInvalid: "Servern känner inte igen en av rollerna. Ladda om sidan och välj igen.",
  accountExists:
    "Det finns redan ett konto med den e-postadressen. Kontrollera adressen eller leta upp kontot i listan nedan.",
  passkeyRefused: "Nyckeln godtogs inte. Försök igen, eller logga in med lösenord och kod.",
  passkeyExpired: "Det tog för lång tid. Börja om.",
  passkeyMalformed: "Webbläsarens svar gick inte att läsa. Försök igen.",
  passkeyExists: "Den här nyckeln är redan registrerad på ett konto.",
  tooManyPasskeys: "Ett konto kan ha högst 10 nycklar. Ta bort en innan du lägger till en ny.",
  passkeyUnsupported: "Den här webbläsaren kan inte använda nycklar (passkeys). Använd lösenord och kod i stället.",
  passkeyCancelled: "Ingen nyckel användes. Försök igen, eller använd lösenord och kod.",
  signInWithPasskey: "Logga in med nyckel (passkey)",
  passkeyOr: "eller",
  passkeysTitle: "Nycklar (passkeys)",
  passkeysIntro:
    "Med en nyckel loggar du in utan lösenord: din enhet kontrollerar din PIN-kod eller biometri. Att lägga till eller ta bort en nyckel bekräftar du med din kod.",
  passkeyName: "Namn på nyckeln",
  passkeyNameHint: "Så att du känner igen den, till exempel ”Jobbdator”.",
  passkeyNameMissing: "Ge nyckeln ett namn.",
  addPasskey: "Lägg till nyckel",
  removePasskey: "Ta bort",
  noPasskeys: "Du har inga nycklar ännu.",
  passkeyAdded: "Nyckeln ”{name}” är tillagd.",
  passkeyRemoved: "Nyckeln ”{name}” är borttagen, och dina andra sessioner är utloggade.",
  passkeyLastUsed: "Senast använd",
  passkeyNeverUsed: "Aldrig",
  methodPasskey: "Nyckel (passkey)",
  accountNotFound: "Kontot finns inte längre. Ladda om sidan för att se den aktuella listan.",
  stepUpCancelled:
    "Ingenting ändrades, eftersom ändringen inte bekräftades med en kod. Försök igen när du har autentiseringsappen till hands.",
  linkTitle: "Aktiveringslänk för {name}",
  invitedLead: "{name} ({email}) är inbjuden.",
  resetLead: "Den andra faktorn för {name} är borttagen. {name} kan logga in igen först efter att ha aktiverat kontot med den här länken.",
  linkLabel: "Aktiveringslänk",
  copy: "Kopiera",
  copied: "Länken är kopierad.",
  copyFailed: "Det gick inte att kopiera automatiskt. Länken är markerad: tryck Ctrl+C (⌘C på Mac) för att kopiera den.",
  linkExpiry: "Länken fungerar en enda gång och bara i {minutes} minuter, till {time}.",
  linkTrusted:
    "Skicka den till {name} på ett säkert sätt, till exempel i ett krypterat meddelande eller personligen, och till ingen annan: den som har länken kan aktivera kontot.",
  hideLink: "Dölj länken",
  accountsTitle: "Konton",
  accountCreated: "Skapat",
  status: "Status",
  accountActions: "Åtgärder",
  statusPending: "Inbjuden, inte aktiverat",
  statusActive: "Aktivt",
  statusDisabled: "Avstängt",
  you: "Du",
  ownAccountNote: "Ditt eget konto ändras av en annan administratör.",
  changeRoles: "Ändra roller",
  rolesOf: "Roller för {name}",
  saveRoles: "Spara roller",
  cancel: "Avbryt",
  endSessions: "Avsluta inloggningar",
  resetMfa: "Återställ andra faktorn",
  disable: "Stäng av",
  confirmDisable: "Stänga av kontot för {name}? {name} loggas ut överallt och kan inte logga in igen.",
  confirmDisableButton: "Ja, stäng av kontot",
  confirmReset:
    "Återställa den andra faktorn för {name}? {name} loggas ut överallt, kan inte logga in förrän kontot har aktiverats igen med en ny länk, och de gamla återställningskoderna slutar gälla.",
  confirmResetButton: "Ja, återställ",
  rolesChanged: "Rollerna för {name} är ändrade. {name} har loggats ut och får de nya rollerna vid nästa inloggning.",
  sessionsEnded: "Avslutade inloggningar för {name}: {count}.",
  accountDisabled: "Kontot för {name} är avstängt. {name} har loggats ut.",
  stepUpTitle: "Bekräfta att det är du",
  stepUpIntro:
    "Den här ändringen kräver att du bekräftar med din andra faktor. Skriv den sexsiffriga koden från autentiseringsappen.",
  stepUpSubmit: "Bekräfta",
  meetings: "Möten",
  meetingsTitle: "Mina möten",
  meetingsIntro:
    "Här bokar du möten med dina kunder, kopierar länken och bjuder in via e-post. Kunden kommer in först när du släpper in hen från väntrummet.",
  meetingsLoading: "Hämtar dina möten …",
  meetingsFailed: "Det gick inte att hämta dina möten. Kontrollera din anslutning och ladda om sidan.",
  meetingsNoAccess: "Den här sidan är för rådgivare.",
  meetingsNoAccessHint: "Behöver du boka möten med kunder? Be en administratör om rollen Rådgivare.",
  toMeetings: "Till mina möten",
  createMeetingTitle: "Boka ett möte",
  meetingTitle: "Rubrik",
  meetingTitleHint: "Syns bara för dig: aldrig för kunden och aldrig i inbjudan.",
  meetingStarts: "Börjar",
  meetingEnds: "Slutar",
  meetingWindowHint: "Länken fungerar bara mellan start och slut, som längst 24 timmar.",
  meetingPasscode: "Kod (valfri)",
  meetingPasscodeHint:
    "6–64 tecken som kunden måste skriva för att komma in. Ge kunden koden på annat sätt än länken, till exempel per telefon.",
  showPasscode: "Visa kod",
  hidePasscode: "Dölj kod",
  bookMeeting: "Boka mötet",
  meetingTitleMissing: "Skriv en rubrik för mötet.",
  meetingTitleInvalid: "Rubriken får ha högst 200 tecken och inga radbrytningar. Korta den.",
  meetingStartMissing: "Välj datum och tid när mötet börjar.",
  meetingEndMissing: "Välj datum och tid när mötet slutar.",
  meetingWindowInvalid:
    "Välj en tid som slutar efter att den börjar, varar högst 24 timmar, inte redan har passerat och ligger inom ett år.",
  meetingPasscodeInvalid: "Koden ska ha 6–64 tecken. Lämna fältet tomt för ett möte utan kod.",
  meetingBooked: "Mötet ”{title}” är bokat.",
  meetingsListTitle: "Bokade möten",
  noMeetings: "Du har inga möten ännu. Boka ett ovan.",
  meetingWhen: "Tid",
  meetingStatusScheduled: "Bokat",
  meetingStatusCancelled: "Avbokat",
  meetingStatusEnded: "Avslutat",
  meetingHasPasscode: "Kod",
  yes: "Ja",
  no: "Nej",
  meetingLink: "Länk till mötet",
  copyMeetingLink: "Kopiera länken",
  meetingActions: "Åtgärder för ”{title}”",
  inviteByEmail: "Bjud in via e-post",
  customerEmail: "Kundens e-postadress",
  customerEmailHint: "Kunden får länken, tiden och en varning att aldrig dela länken, men aldrig rubriken.",
  sendInvitation: "Skicka inbjudan",
  invitationSent: "Inbjudan är skickad till {email}.",
  customerEmailMissing: "Skriv kundens e-postadress.",
  emailNotConfigured:
    "E-post är inte inställd på servern, så inbjudan kan inte skickas. Kopiera länken och skicka den på annat sätt, eller be din administratör att ställa in e-post.",
  emailUnavailable: "E-postservern svarar inte just nu, så inget skickades. Försök igen om några minuter.",
  emailRefused:
    "E-postservern tog inte emot inbjudan, så inget skickades. Kontrollera adressen; stämmer den, be din administratör kontrollera e-postinställningarna.",
  tooManyInvitations: "Mötet har fått så många inbjudningar som det får ha. Kopiera länken och skicka den på annat sätt.",
  invitationInProgress: "En annan inbjudan till mötet skickas just nu. Vänta en stund och försök igen.",
  editMeeting: "Ändra",
  saveMeeting: "Spara ändringarna",
  meetingNewPasscode: "Ny kod (valfri)",
  meetingNewPasscodeHint: "Lämna tomt för att behålla koden som den är.",
  removePasscode: "Ta bort koden",
  meetingSaved: "Ändringarna i ”{title}” är sparade.",
  cancelMeeting: "Avboka",
  confirmCancelMeeting: "Avboka ”{title}”? Länken slutar fungera direkt, och det går inte att ångra.",
  confirmCancelMeetingButton: "Ja, avboka mötet",
  keepMeeting: "Nej, behåll mötet",
  meetingCancelled: "”{title}” är avbokat. Länken fungerar inte längre.",
  meetingClosed: "Mötet är avbokat eller har redan varit, så det går inte att ändra eller bjuda in till. Ladda om sidan.",
  meetingNotFound: "Mötet finns inte längre. Ladda om sidan för att se den aktuella listan.",
  notFoundTitle: "Sidan finns inte",
  notFoundText: "Adressen leder inte till någon sida i Trygg. Kontrollera adressen eller gå till startsidan.",
  toHome: "Till startsidan",
} as const satisfies Record<string, string>;

/** Every piece of text the client can show. */
export type MessageKey = keyof typeof sv;

type Dictionary = Readonly<Record<MessageKey, string>>;

const en: Dictionary = {
  documentTitle: "Trygg – secure digital customer meetings",
  skipToContent: "Skip to main content",
  tagline: "Secure digital customer meetings",
  mainMenu: "Main menu",
  home: "Home",
  language: "Language",
  heading: "Welcome to Trygg",
  welcome:
    "This is where you meet your adviser in a secure digital meeting. Have you received a meeting link? Open it to go straight to the meeting.",
  loading: "Loading details from the server …",
  loadFailed: "Could not reach the server. Check your connection and reload the page.",
  reload: "Reload page",
  operatedBy: "Provided by {organisation}",
  version: "{product} version {version}",
  pageTitle: "{page} – Trygg",
  signIn: "Sign in",
  myAccount: "My account",
  working: "Working …",
  continue: "Continue",
  email: "E-mail address",
  password: "Password",
  showPassword: "Show password",
  hidePassword: "Hide password",
  oneTimeCode: "One-time code",
  oneTimeCodeHint: "Six digits from the authenticator app.",
  recoveryCode: "Recovery code",
  recoveryCodeHint: "One of the codes you saved when you set up your account. Dashes and spaces do not matter.",
  networkError: "Could not reach the server. Check your connection and try again.",
  unexpectedError: "Something went wrong on the server. Try again in a moment.",
  throttledOne: "Too many attempts. Wait 1 minute and try again.",
  throttledMany: "Too many attempts. Wait {minutes} minutes and try again.",
  invalidCredentials: "The e-mail address or password is wrong. Check them and try again.",
  invalidCode: "The code is wrong or has already been used. Wait for the next code and try again.",
  invalidRecoveryCode: "The recovery code is wrong or has already been used. Check it, or use another code.",
  mfaExpired: "Your sign-in took too long. Start again.",
  enrolmentInvalid: "This enrolment link has expired or has already been used. Ask your administrator for a new one.",
  passwordTooShort: "The password is too short. Use at least {min} characters.",
  passwordTooLong: "The password is too long. Choose a shorter one.",
  passwordCommon: "This password is too common and easy to guess. Choose another, for example a few words that only you know belong together.",
  passwordContextSpecific: "The password contains your name, e-mail address or the service name. Choose another.",
  passwordRepetitive: "The password repeats the same characters or pattern. Choose one with more variety.",
  passwordRejected: "The password was not accepted. Choose another.",
  emailMissing: "Enter your e-mail address.",
  passwordMissing: "Enter your password.",
  codeMalformed: "Enter the 6-digit code from the authenticator app.",
  recoveryCodeMissing: "Enter one of your recovery codes.",
  signInIntro: "For staff. You sign in with your password and a one-time code from the authenticator app on your phone.",
  ssoOr: "or",
  ssoSignIn: "Sign in with your organisation",
  ssoHint: "Through your organisation's sign-in service, with two-step verification.",
  ssoErrorMfaRequired:
    "Your organisation's sign-in did not confirm two steps (such as a password and a code). Sign in there with two-step verification and try again.",
  ssoErrorNoAccount: "There is no active Trygg account for you. Ask your administrator for an invitation.",
  ssoErrorNoRole: "Your organisation's sign-in gave you no role in Trygg. Ask your administrator for access.",
  ssoErrorState: "The sign-in took too long or was started in another browser. Start again.",
  ssoErrorCancelled: "The sign-in was cancelled at your organisation. Try again.",
  ssoErrorUnavailable: "Your organisation's sign-in service does not answer right now. Try again in a moment.",
  ssoErrorClaimsMissing: "The sign-in service did not send the details Trygg needs. Contact your administrator.",
  ssoErrorFailed: "The sign-in at your organisation could not be confirmed. Start again, and contact your administrator if it happens again.",
  codeStepIntro: "Open the authenticator app on your phone and enter the 6-digit code for Trygg.",
  recoveryStepIntro: "Enter one of your recovery codes. Each code works only once.",
  useRecoveryCode: "Use a recovery code instead",
  useAppCode: "Use a code from the app instead",
  startAgain: "Start again",
  enrolTitle: "Set up your account",
  enrolLoading: "Loading your enrolment …",
  tryAgain: "Try again",
  enrolNoToken: "This page needs the whole link you were sent. Open the link from your e-mail again.",
  enrolAccount: "The account",
  name: "Name",
  enrolStepsHeading: "How it works",
  enrolStepApp: "Install an authenticator app on your phone, if you do not have one already.",
  enrolStepScan: "Scan the QR code with the app, or type in the key by hand.",
  enrolStepForm: "Choose a password and enter the 6-digit code the app shows.",
  enrolStepSave: "Save your recovery codes. You need them if you lose your phone.",
  qrAlt: "QR code that adds Trygg to your authenticator app",
  totpSecret: "Key to type in by hand",
  newPassword: "New password",
  newPasswordHint: "At least {min} characters. A long password of several words is secure and easy to remember.",
  codeFromApp: "Code from the app",
  enrolSubmit: "Set up account",
  recoveryTitle: "Save your recovery codes",
  recoveryIntro:
    "If you lose your phone, you can sign in with one of these codes instead of a code from the app. Each code works once.",
  recoveryKeepSafe:
    "Keep the codes somewhere safe, for example in a password manager or printed and locked away, and do not show them to anyone. They are shown only now.",
  recoverySaved: "I have saved these codes",
  accountTitle: "My account",
  accountLoading: "Loading your account …",
  accountFailed: "Could not load your account. Check your connection and reload the page.",
  signedInAs: "Signed in as {name} ({email})",
  roles: "Roles",
  noRoles: "No roles",
  roleAdmin: "Administrator",
  roleAdviser: "Adviser",
  roleAuditor: "Auditor",
  signOut: "Sign out",
  sessionsTitle: "Your sessions",
  sessionsIntro:
    "This is where you are signed in. Do you not recognise a session? Sign it out and contact your administrator.",
  device: "Device",
  authMethod: "Sign-in method",
  createdAt: "Signed in",
  lastSeen: "Last active",
  actions: "Action",
  thisDevice: "This device",
  signOutSession: "Sign out this session",
  sessionSignedOut: "The session on {device} is signed out.",
  methodPasswordTotp: "Password and app code",
  methodPasswordRecovery: "Password and recovery code",
  roleSecurityOfficer: "Security officer",
  roleDpo: "Data protection officer",
  roleSupervisor: "Supervisor",
  sessionExpired: "Your session has ended. Sign in again.",
  forbidden: "You are not allowed to do this. Ask another administrator for help.",
  stepUpRequired: "This change needs to be confirmed with a code from the authenticator app. Try again.",
  administration: "Administration",
  adminTitle: "Administration",
  adminIntro:
    "Invite staff and manage their accounts here. Changes take effect at once: the person is signed out of all their sessions.",
  adminLoading: "Loading accounts …",
  adminFailed: "Could not load the accounts. Check your connection and reload the page.",
  noAccess: "You do not have access to this page.",
  noAccessHint: "Do you need to administer accounts? Ask an administrator for that role.",
  toAccount: "Go to my account",
  inviteTitle: "Invite a staff member",
  inviteIntro:
    "The person gets a link to choose a password and set up their authenticator app. The account works once it is set up.",
  rolesHint: "Choose at least one role.",
  inviteSubmit: "Invite",
  inviteEmailMissing: "Enter the person's e-mail address.",
  inviteEmailInvalid: "Enter an e-mail address such as name@example.com.",
  inviteNameMissing: "Enter the person's name.",
  inviteNameInvalid: "Enter the person's name, 1 to 200 characters.",
  rolesMissing: "Choose at least one role.",
  rolesInvalid: "The server does not recognise one of the roles. Reload the page and choose again.",
  accountExists:
    "An account with this e-mail address already exists. Check the address, or find the account in the list below.",
  passkeyRefused: "The passkey was not accepted. Try again, or sign in with your password and code.",
  passkeyExpired: "That took too long. Start again.",
  passkeyMalformed: "The browser's answer could not be read. Try again.",
  passkeyExists: "This passkey is already registered to an account.",
  tooManyPasskeys: "An account can hold at most 10 passkeys. Remove one before adding another.",
  passkeyUnsupported: "This browser cannot use passkeys. Use your password and code instead.",
  passkeyCancelled: "No passkey was used. Try again, or use your password and code.",
  signInWithPasskey: "Sign in with a passkey",
  passkeyOr: "or",
  passkeysTitle: "Passkeys",
  passkeysIntro:
    "With a passkey you sign in without a password: your device checks your PIN or biometric. Adding or removing a passkey is confirmed with your code.",
  passkeyName: "Name of the passkey",
  passkeyNameHint: "So that you recognise it, for example “Work laptop”.",
  passkeyNameMissing: "Give the passkey a name.",
  addPasskey: "Add a passkey",
  removePasskey: "Remove",
  noPasskeys: "You have no passkeys yet.",
  passkeyAdded: "The passkey “{name}” is added.",
  passkeyRemoved: "The passkey “{name}” is removed, and your other sessions are signed out.",
  passkeyLastUsed: "Last used",
  passkeyNeverUsed: "Never",
  methodPasskey: "Passkey",
  accountNotFound: "The account no longer exists. Reload the page to see the current list.",
  stepUpCancelled:
    "Nothing was changed, because the change was not confirmed with a code. Try again when you have your authenticator app at hand.",
  linkTitle: "Enrolment link for {name}",
  invitedLead: "{name} ({email}) is invited.",
  resetLead: "The second factor of {name} is removed. {name} can sign in again only after setting up the account with this link.",
  linkLabel: "Enrolment link",
  copy: "Copy",
  copied: "The link is copied.",
  copyFailed: "Could not copy automatically. The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.",
  linkExpiry: "The link works only once, and only for {minutes} minutes, until {time}.",
  linkTrusted:
    "Send it to {name} over a trusted channel, for example an encrypted message or in person, and to nobody else: whoever has the link can set up the account.",
  hideLink: "Hide the link",
  accountsTitle: "Accounts",
  accountCreated: "Created",
  status: "Status",
  accountActions: "Actions",
  statusPending: "Invited, not set up yet",
  statusActive: "Active",
  statusDisabled: "Disabled",
  you: "You",
  ownAccountNote: "Another administrator changes your own account.",
  changeRoles: "Change roles",
  rolesOf: "Roles of {name}",
  saveRoles: "Save roles",
  cancel: "Cancel",
  endSessions: "End sessions",
  resetMfa: "Reset second factor",
  disable: "Disable",
  confirmDisable: "Disable the account of {name}? {name} is signed out everywhere and can no longer sign in.",
  confirmDisableButton: "Yes, disable the account",
  confirmReset:
    "Reset the second factor of {name}? {name} is signed out everywhere, cannot sign in until the account is set up again with a new link, and the old recovery codes stop working.",
  confirmResetButton: "Yes, reset",
  rolesChanged: "The roles of {name} are changed. {name} has been signed out and gets the new roles at the next sign-in.",
  sessionsEnded: "Sessions of {name} ended: {count}.",
  accountDisabled: "The account of {name} is disabled. {name} has been signed out.",
  stepUpTitle: "Confirm it is you",
  stepUpIntro:
    "This change needs you to confirm with your second factor. Enter the 6-digit code from the authenticator app.",
  stepUpSubmit: "Confirm",
  meetings: "Meetings",
  meetingsTitle: "My meetings",
  meetingsIntro:
    "Book meetings with your customers here, copy the link and invite by e-mail. The customer gets in only when you admit them from the lobby.",
  meetingsLoading: "Loading your meetings …",
  meetingsFailed: "Could not load your meetings. Check your connection and reload the page.",
  meetingsNoAccess: "This page is for advisers.",
  meetingsNoAccessHint: "Do you need to book meetings with customers? Ask an administrator for the Adviser role.",
  toMeetings: "Go to my meetings",
  createMeetingTitle: "Book a meeting",
  meetingTitle: "Title",
  meetingTitleHint: "Shown only to you: never to the customer, never in the invitation.",
  meetingStarts: "Starts",
  meetingEnds: "Ends",
  meetingWindowHint: "The link works only between the start and the end, at most 24 hours.",
  meetingPasscode: "Passcode (optional)",
  meetingPasscodeHint:
    "6 to 64 characters the customer must type to get in. Give it to the customer another way than the link, for example by phone.",
  showPasscode: "Show passcode",
  hidePasscode: "Hide passcode",
  bookMeeting: "Book the meeting",
  meetingTitleMissing: "Give the meeting a title.",
  meetingTitleInvalid: "The title may have at most 200 characters and no line breaks. Shorten it.",
  meetingStartMissing: "Choose the date and time the meeting starts.",
  meetingEndMissing: "Choose the date and time the meeting ends.",
  meetingWindowInvalid:
    "Choose a time that ends after it starts, lasts at most 24 hours, has not passed and is within a year.",
  meetingPasscodeInvalid: "The passcode needs 6 to 64 characters. Leave it empty for a meeting without one.",
  meetingBooked: "The meeting “{title}” is booked.",
  meetingsListTitle: "Booked meetings",
  noMeetings: "You have no meetings yet. Book one above.",
  meetingWhen: "Time",
  meetingStatusScheduled: "Scheduled",
  meetingStatusCancelled: "Cancelled",
  meetingStatusEnded: "Ended",
  meetingHasPasscode: "Passcode",
  yes: "Yes",
  no: "No",
  meetingLink: "Meeting link",
  copyMeetingLink: "Copy the link",
  meetingActions: "Actions for “{title}”",
  inviteByEmail: "Invite by e-mail",
  customerEmail: "Customer's e-mail address",
  customerEmailHint: "The customer gets the link, the time and a warning never to share the link, but never the title.",
  sendInvitation: "Send invitation",
  invitationSent: "The invitation is sent to {email}.",
  customerEmailMissing: "Enter the customer's e-mail address.",
  emailNotConfigured:
    "E-mail is not set up on the server, so the invitation cannot be sent. Copy the link and send it another way, or ask your administrator to set up e-mail.",
  emailUnavailable: "The mail server does not answer right now, so nothing was sent. Try again in a few minutes.",
  emailRefused:
    "The mail server did not accept the invitation, so nothing was sent. Check the address; if it is right, ask your administrator to check the e-mail settings.",
  tooManyInvitations: "This meeting has had as many invitations as it may. Copy the link and send it another way.",
  invitationInProgress: "Another invitation to this meeting is being sent. Wait a moment and try again.",
  editMeeting: "Edit",
  saveMeeting: "Save changes",
  meetingNewPasscode: "New passcode (optional)",
  meetingNewPasscodeHint: "Leave it empty to keep the passcode as it is.",
  removePasscode: "Remove the passcode",
  meetingSaved: "The changes to “{title}” are saved.",
  cancelMeeting: "Cancel meeting",
  confirmCancelMeeting: "Cancel “{title}”? The link stops working at once, and this cannot be undone.",
  confirmCancelMeetingButton: "Yes, cancel the meeting",
  keepMeeting: "No, keep it",
  meetingCancelled: "“{title}” is cancelled. The link no longer works.",
  meetingClosed: "The meeting is cancelled or over, so it cannot be changed or invited to. Reload the page.",
  meetingNotFound: "The meeting no longer exists. Reload the page to see the current list.",
  notFoundTitle: "Page not found",
  notFoundText: "This address does not lead to a page in Trygg. Check the address or go to the home page.",
  toHome: "Go to the home page",
};

const dictionaries: Readonly<Record<Lang, Dictionary>> = { sv, en };

/**
 * The text for `key` in `lang`, with each `{name}` replaced by `params[name]`.
 * Parameters are inserted as plain text; the shell only ever assigns the result to textContent.
 */
export function translate(lang: Lang, key: MessageKey, params: Readonly<Record<string, string>> = {}): string {
  return dictionaries[lang][key].replace(/\{(\w+)\}/g, (placeholder, name: string) => params[name] ?? placeholder);
}

/** A date and time in the person's language, e.g. "27 nov. 2025 11:37" or "27 Nov 2025, 11:37". */
export function formatDateTime(lang: Lang, epochMs: number): string {
  return dateTimeFormats[lang].format(new Date(epochMs));
}

// English is shown with British conventions (day before month, 24-hour clock), closest to what a
// Swedish service's staff expect.
const dateTimeFormats: Readonly<Record<Lang, Intl.DateTimeFormat>> = {
  sv: new Intl.DateTimeFormat("sv-SE", { dateStyle: "medium", timeStyle: "short" }),
  en: new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" }),
};

/**
 * A meeting's window in the person's language: "7 dec. 2026 14:00–15:00", or both dates and
 * times when it runs past midnight.
 */
export function formatWindow(lang: Lang, startMs: number, endMs: number): string {
  const start = new Date(startMs);
  const end = new Date(endMs);
  if (start.toDateString() !== end.toDateString()) {
    return `${formatDateTime(lang, startMs)} – ${formatDateTime(lang, endMs)}`;
  }
  return `${formatDateTime(lang, startMs)}–${timeFormats[lang].format(end)}`;
}

const timeFormats: Readonly<Record<Lang, Intl.DateTimeFormat>> = {
  sv: new Intl.DateTimeFormat("sv-SE", { timeStyle: "short" }),
  en: new Intl.DateTimeFormat("en-GB", { timeStyle: "short" }),
};

export function isLang(value: unknown): value is Lang {
  return typeof value === "string" && (languages as readonly string[]).includes(value);
}

const storageKey = "trygg.lang";

/**
 * The language to start in: the one the person chose before, else Swedish if any of the
 * browser's preferred languages is a Swedish one, else English.
 */
export function initialLang(): Lang {
  const stored = readStoredLang();
  if (stored !== null) return stored;
  const preferred = navigator.languages.length > 0 ? navigator.languages : [navigator.language];
  return preferred.some((tag) => tag.toLowerCase().startsWith("sv")) ? "sv" : "en";
}

/** Remembers the person's choice. Storage may be disabled or full; the choice then lasts this page. */
export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // Not being able to remember a language is no reason to bother the person.
  }
}

function readStoredLang(): Lang | null {
  try {
    const value = localStorage.getItem(storageKey);
    return isLang(value) ? value : null;
  } catch {
    return null;
  }
}

//! Inviting a customer to a meeting by e-mail. The host gives an address; the server sends the
//! meeting's link, its time and who it is from, in Swedish and English, and records that it did:
//! the address sealed under the meeting's data key (so erasing the meeting erases it) and a
//! `meeting.invited` audit event that names the meeting and the invitation, never the address.
//!
//! The e-mail deliberately says nothing about what the meeting is about: no title, no passcode,
//! nothing the adviser typed. An e-mail crosses servers that neither the bank nor the customer
//! controls and stays in mailboxes for years; the link alone lets nobody in outside the validity
//! window, past the passcode or the lobby, so it is the least that can go out. It warns the
//! customer never to share the link and that the organisation never asks for passwords.
//!
//! Only the host may invite (the policy's `meeting.update` on the meeting), at most
//! [`MAX_INVITATIONS_PER_MEETING`] times per meeting and one at a time per meeting. A send that
//! fails records no invitation; its failure is audited with a reason code.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use audit::{Event, Outcome};
use chrono::{Datelike as _, FixedOffset, Timelike as _};
use edge::identity::{ApiError, RequestContext};
use edge::invitations::{InvitationRequest, InvitationSent, InvitationsApi};
use edge::BoxFuture;
use policy::MeetingUpdate;

use crate::accounts::{internal, normalise_email, AccountService};
use crate::clock::now_ms;
use crate::demo;
use crate::keys::seal;
use crate::locks::Locked;
use crate::mail::{Mailer, OutgoingMail, SendFailure};
use crate::meetings::{meeting_key_ref, MeetingService};

/// How many invitations one meeting may have: enough for every participant and a few resends,
/// too few to use a meeting to send mail in bulk.
pub const MAX_INVITATIONS_PER_MEETING: i64 = 20;
/// The furthest a customer's clock may be from UTC (UTC-14:00 to UTC+14:00).
const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// The invitation service.
#[derive(Debug)]
pub struct InvitationService {
    accounts: Arc<AccountService>,
    meetings: Arc<MeetingService>,
    mailer: Option<Mailer>,
    public_url: Option<String>,
    /// Meetings with an invitation on its way: one at a time each, so the limit holds.
    sending: Mutex<HashSet<String>>,
}

impl InvitationService {
    pub fn new(
        accounts: Arc<AccountService>,
        meetings: Arc<MeetingService>,
        mailer: Option<Mailer>,
        public_url: Option<String>,
    ) -> InvitationService {
        InvitationService {
            accounts,
            meetings,
            mailer,
            public_url,
            sending: Mutex::new(HashSet::new()),
        }
    }

    /// Marks `meeting_id` as sending until the guard drops, or refuses if it already is.
    fn begin_sending(&self, meeting_id: &str) -> Result<SendingGuard<'_>, ApiError> {
        let mut sending = self.sending.locked();
        if !sending.insert(meeting_id.to_owned()) {
            return Err(ApiError::new(
                429,
                "invitation_in_progress",
                "Another invitation to this meeting is being sent. Wait a moment and try again.",
            )
            .with("retry_after_secs", 5));
        }
        Ok(SendingGuard {
            service: self,
            meeting_id: meeting_id.to_owned(),
        })
    }

    /// Audits an invitation that was not sent, in a transaction of its own.
    async fn audit_failure(
        &self,
        actor: &str,
        meeting_id: &str,
        reason: &str,
    ) -> Result<(), ApiError> {
        let (store, _, audit) = self.accounts.parts();
        let now = now_ms();
        let mut tx = store.begin().await.map_err(internal)?;
        let event = Event::new(
            now,
            format!("account:{actor}"),
            "meeting.invited",
            Outcome::Failure,
        )
        .target(format!("meeting:{meeting_id}"))
        .detail("reason", reason);
        audit
            .append(&mut tx, vec![event], now)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)
    }
}

struct SendingGuard<'a> {
    service: &'a InvitationService,
    meeting_id: String,
}

impl Drop for SendingGuard<'_> {
    fn drop(&mut self) {
        let mut sending = self.service.sending.locked();
        sending.remove(&self.meeting_id);
    }
}

impl InvitationsApi for InvitationService {
    fn invite<'a>(
        &'a self,
        session_token: &'a str,
        meeting_id: &'a str,
        request: InvitationRequest,
        origin: Option<&'a str>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, Result<InvitationSent, ApiError>> {
        Box::pin(async move {
            let (authorised, row) = self
                .meetings
                .authorised_meeting::<MeetingUpdate>(session_token, meeting_id, context)
                .await?;
            let actor = authorised.account.id.clone();
            let now = now_ms();
            if row.status != "scheduled" || row.ends_at_ms <= now {
                return Err(ApiError::new(
                    409,
                    "meeting_closed",
                    "This meeting is cancelled or over, so nobody can be invited to it.",
                ));
            }
            let email = normalise_email(&request.email).ok_or_else(|| {
                ApiError::new(
                    400,
                    "invalid_email",
                    "Enter an e-mail address such as name@example.com.",
                )
            })?;
            let to: lettre::Address = email.parse().map_err(|_| {
                ApiError::new(
                    400,
                    "invalid_email",
                    "Enter an e-mail address such as name@example.com.",
                )
            })?;
            let offset_minutes = request.utc_offset_minutes.unwrap_or(0);
            if !(-MAX_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&offset_minutes) {
                return Err(ApiError::new(
                    400,
                    "invalid_utc_offset",
                    "The time zone offset must be between -840 and 840 minutes.",
                ));
            }
            let Some(mailer) = &self.mailer else {
                return Err(ApiError::new(
                    503,
                    "email_not_configured",
                    "E-mail is not configured on this server, so invitations cannot be sent. \
                     Copy the link and send it another way, or ask your administrator to set up \
                     [smtp].",
                ));
            };
            let base = self
                .public_url
                .as_deref()
                .or(origin)
                .ok_or_else(|| {
                    ApiError::new(400, "bad_request", "The request names no valid host.")
                })?
                .trim_end_matches('/')
                .to_owned();
            let _sending = self.begin_sending(meeting_id)?;
            let (store, keys, audit) = self.accounts.parts();
            let sent_before = store.invitation_count(meeting_id).await.map_err(internal)?;
            if sent_before >= MAX_INVITATIONS_PER_MEETING {
                self.audit_failure(&actor, meeting_id, "too_many_invitations")
                    .await?;
                return Err(ApiError::new(
                    429,
                    "too_many_invitations",
                    format!(
                        "This meeting has had {MAX_INVITATIONS_PER_MEETING} invitations, the \
                         most it may have. Copy the link and send it another way."
                    ),
                ));
            }
            let key = keys
                .open(store, &meeting_key_ref(meeting_id))
                .await
                .map_err(internal)?
                .ok_or_else(|| ApiError::new(410, "meeting_erased", "This meeting was erased."))?;
            let organisation = match demo::organisation_name(store, keys).await {
                Ok(Some(name)) => name,
                Ok(None) => host_of(&base).to_owned(),
                Err(error) => return Err(internal(format!("{error:#}"))),
            };
            let link = format!("{base}/m/{}", row.id);
            let text = InvitationText {
                organisation: &organisation,
                link: &link,
                starts_at_ms: row.starts_at_ms,
                ends_at_ms: row.ends_at_ms,
                utc_offset_minutes: offset_minutes,
                passcode: row.passcode_phc.is_some(),
            };
            let mail = OutgoingMail {
                from_name: organisation.clone(),
                to,
                subject: text.subject(),
                body: text.body(),
            };
            if let Err(failure) = mailer.send(mail).await {
                self.audit_failure(&actor, meeting_id, failure.reason())
                    .await?;
                return Err(failure_answer(failure));
            }

            // Sent: record it with its audit event in one transaction.
            let id = hex::encode(vault::random_bytes::<16>());
            let sent_at_ms = now_ms();
            let email_enc = seal(&key, "meeting_invitations", "email", &id, email.as_bytes());
            let mut tx = store.begin().await.map_err(internal)?;
            tx.insert_invitation(&id, meeting_id, &email_enc, sent_at_ms)
                .await
                .map_err(internal)?;
            let event = Event::new(
                sent_at_ms,
                format!("account:{actor}"),
                "meeting.invited",
                Outcome::Success,
            )
            .target(format!("meeting:{meeting_id}"))
            .detail("invitation", id.clone());
            audit
                .append(&mut tx, vec![event], sent_at_ms)
                .await
                .map_err(internal)?;
            tx.commit().await.map_err(internal)?;
            let invitations_sent = sent_before + 1;
            Ok(InvitationSent {
                id,
                sent_at_ms,
                invitations_sent,
                invitations_left: MAX_INVITATIONS_PER_MEETING - invitations_sent,
            })
        })
    }
}

/// What the host is told when the mail server did not take the invitation.
fn failure_answer(failure: SendFailure) -> ApiError {
    match failure {
        SendFailure::Message | SendFailure::Permanent(_) => ApiError::new(
            502,
            "email_refused",
            "The mail server did not accept the invitation, so nothing was sent. Check the \
             address; if it is right, ask your administrator to check the e-mail settings.",
        ),
        SendFailure::Connection | SendFailure::Transient(_) => ApiError::new(
            503,
            "email_unavailable",
            "The mail server cannot be reached right now, so nothing was sent. Try again in a \
             few minutes.",
        ),
    }
}

/// `host[:port]` of an `https://` base URL.
fn host_of(base: &str) -> &str {
    let rest = base.strip_prefix("https://").unwrap_or(base);
    rest.split('/').next().unwrap_or(rest)
}

/// The words of an invitation.
#[derive(Debug)]
struct InvitationText<'a> {
    organisation: &'a str,
    link: &'a str,
    starts_at_ms: i64,
    ends_at_ms: i64,
    utc_offset_minutes: i32,
    /// Whether the meeting asks for a passcode (which the e-mail never contains).
    passcode: bool,
}

const SV_WEEKDAYS: [&str; 7] = [
    "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
];
const EN_WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const SV_MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Clone, Copy)]
enum Language {
    Swedish,
    English,
}

impl InvitationText<'_> {
    fn subject(&self) -> String {
        format!(
            "Inbjudan till möte med {org} / Invitation to a meeting with {org}",
            org = self.organisation
        )
    }

    fn body(&self) -> String {
        let org = self.organisation;
        let link = self.link;
        let when_sv = self.window(Language::Swedish);
        let when_en = self.window(Language::English);
        let passcode_sv = if self.passcode {
            "Mötet har en kod. Den får du av din kontaktperson på annat sätt, aldrig i e-post.\n\n"
        } else {
            ""
        };
        let passcode_en = if self.passcode {
            "The meeting has a passcode. Your contact gives it to you another way, never by \
             e-mail.\n\n"
        } else {
            ""
        };
        format!(
            "(English below)\n\
             \n\
             Hej!\n\
             \n\
             {org} bjuder in dig till ett säkert digitalt möte.\n\
             \n\
             Tid: {when_sv}\n\
             Länk: {link}\n\
             \n\
             Öppna länken i din webbläsare när det är dags; den fungerar bara under mötestiden \
             och du behöver inte installera något.\n\
             \n\
             {passcode_sv}\
             Dela aldrig länken med någon. {org} ber dig aldrig om lösenord, koder eller att \
             legitimera dig med e-legitimation på uppmaning i ett e-postmeddelande. Väntade du \
             dig inte det här mötet? Öppna inte länken, utan kontakta {org} på det sätt du \
             brukar.\n\
             \n\
             Med vänliga hälsningar\n\
             {org}\n\
             \n\
             Det här meddelandet skickades automatiskt och går inte att svara på.\n\
             \n\
             ----------------------------------------------------------------------\n\
             \n\
             Hello,\n\
             \n\
             {org} invites you to a secure digital meeting.\n\
             \n\
             Time: {when_en}\n\
             Link: {link}\n\
             \n\
             Open the link in your web browser when it is time; it works only during the \
             meeting, and there is nothing to install.\n\
             \n\
             {passcode_en}\
             Never share the link with anyone. {org} never asks you for passwords, codes or to \
             identify yourself with an e-ID because an e-mail told you to. Were you not \
             expecting this meeting? Do not open the link; contact {org} the way you usually \
             do.\n\
             \n\
             Kind regards\n\
             {org}\n\
             \n\
             This message was sent automatically; replies are not read.\n"
        )
    }

    /// "måndag 7 december 2026 kl. 14:00–15:00 (UTC+01:00)", in `language`; a window over
    /// midnight names both dates.
    fn window(&self, language: Language) -> String {
        // Invariant: the offset was checked to be within ±14 hours, which FixedOffset accepts.
        let offset = FixedOffset::east_opt(self.utc_offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is a valid offset"));
        let at = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .with_timezone(&offset)
        };
        let (start, end) = (at(self.starts_at_ms), at(self.ends_at_ms));
        let date = |time: &chrono::DateTime<FixedOffset>| {
            let weekday = time.weekday().num_days_from_monday() as usize;
            let month = time.month0() as usize;
            match language {
                Language::Swedish => format!(
                    "{} {} {} {}",
                    SV_WEEKDAYS[weekday],
                    time.day(),
                    SV_MONTHS[month],
                    time.year()
                ),
                Language::English => format!(
                    "{} {} {} {}",
                    EN_WEEKDAYS[weekday],
                    time.day(),
                    EN_MONTHS[month],
                    time.year()
                ),
            }
        };
        let clock = |time: &chrono::DateTime<FixedOffset>| {
            format!("{:02}:{:02}", time.hour(), time.minute())
        };
        let at_word = match language {
            Language::Swedish => "kl. ",
            Language::English => "",
        };
        let zone = {
            let minutes = self.utc_offset_minutes;
            if minutes == 0 {
                "UTC".to_owned()
            } else {
                let sign = if minutes < 0 { '-' } else { '+' };
                let minutes = minutes.unsigned_abs();
                format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            }
        };
        if start.date_naive() == end.date_naive() {
            let separator = if matches!(language, Language::English) {
                ", "
            } else {
                " "
            };
            format!(
                "{}{separator}{at_word}{}–{} ({zone})",
                date(&start),
                clock(&start),
                clock(&end)
            )
        } else {
            format!(
                "{} {at_word}{} – {} {at_word}{} ({zone})",
                date(&start),
                clock(&start),
                date(&end),
                clock(&end)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(offset: i32, passcode: bool) -> InvitationText<'static> {
        InvitationText {
            organisation: "Exempelbanken",
            link: "https://moten.example.se/m/0123456789abcdef0123456789abcdef",
            // Monday 7 December 2026, 13:00 to 14:00 UTC.
            starts_at_ms: 1_796_648_400_000,
            ends_at_ms: 1_796_652_000_000,
            utc_offset_minutes: offset,
            passcode,
        }
    }

    #[test]
    fn the_window_is_written_in_both_languages_with_its_offset() {
        assert_eq!(
            text(60, false).window(Language::Swedish),
            "måndag 7 december 2026 kl. 14:00–15:00 (UTC+01:00)"
        );
        assert_eq!(
            text(60, false).window(Language::English),
            "Monday 7 December 2026, 14:00–15:00 (UTC+01:00)"
        );
        assert_eq!(
            text(0, false).window(Language::English),
            "Monday 7 December 2026, 13:00–14:00 (UTC)"
        );
        assert_eq!(
            text(-630, false).window(Language::English),
            "Monday 7 December 2026, 02:30–03:30 (UTC-10:30)"
        );
        let over_midnight = InvitationText {
            starts_at_ms: 1_796_680_800_000,
            ends_at_ms: 1_796_688_000_000,
            ..text(60, false)
        };
        assert_eq!(
            over_midnight.window(Language::Swedish),
            "måndag 7 december 2026 kl. 23:00 – tisdag 8 december 2026 kl. 01:00 (UTC+01:00)"
        );
    }

    #[test]
    fn the_mail_carries_link_time_sender_and_warnings_but_no_passcode() {
        let body = text(60, true).body();
        for needle in [
            "https://moten.example.se/m/0123456789abcdef0123456789abcdef",
            "måndag 7 december 2026 kl. 14:00–15:00",
            "Monday 7 December 2026, 14:00–15:00",
            "Exempelbanken bjuder in dig",
            "Dela aldrig länken",
            "Never share the link",
            "never asks you for passwords",
            "Mötet har en kod",
        ] {
            assert!(body.contains(needle), "{needle} missing from:\n{body}");
        }
        assert!(!text(60, false).body().contains("passcode"));
        assert_eq!(
            text(0, false).subject(),
            "Inbjudan till möte med Exempelbanken / Invitation to a meeting with Exempelbanken"
        );
        assert_eq!(
            host_of("https://moten.example.se:8443"),
            "moten.example.se:8443"
        );
    }
}

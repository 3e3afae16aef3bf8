//! Outgoing email (invitations), through an SMTP server given by URL
//! (`smtp://host:port`, `smtps://user:pass@host`, `smtp://host?tls=required`).

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid SMTP URL: {0}")]
    Url(lettre::transport::smtp::Error),
    #[error("invalid sender address {0:?}")]
    From(String),
    #[error("invalid recipient address")]
    To,
    #[error("cannot build the message: {0}")]
    Build(lettre::error::Error),
    #[error("the SMTP server refused the message: {0}")]
    Send(lettre::transport::smtp::Error),
}

/// An email ready to send.
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(MailError::Url)?
            .build();
        let from = from
            .parse()
            .map_err(|_| MailError::From(from.to_string()))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, email: Email) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse().map_err(|_| MailError::To)?)
            .subject(email.subject)
            .singlepart(
                // Quoted-printable keeps accented text readable and links intact in any client.
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(email.body),
            )
            .map_err(MailError::Build)?;
        self.transport
            .send(message)
            .await
            .map_err(MailError::Send)?;
        Ok(())
    }
}

//! What reaches a user outside the open conversation: the notification centre, web push,
//! email and the chime (`docs/notifications.md`).

pub mod rules;

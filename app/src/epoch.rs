//! Moments as Buzón stores them: UTC milliseconds since the Unix epoch, one unit for every
//! timestamp in both databases, on the wire and in the browser.

use serde::{Deserialize, Serialize};

/// A moment, in UTC milliseconds since the Unix epoch. Durations added to a moment, and the
/// difference between two, are plain milliseconds (`i64`); both saturate.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct EpochMs(pub i64);

impl EpochMs {
    /// Now, on either side (the browser's clock in the browser).
    pub fn now() -> EpochMs {
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            EpochMs(js_sys::Date::now() as i64)
        }
        #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
        {
            EpochMs(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or_default(),
            )
        }
    }
}

/// A moment `ms` milliseconds later, saturating.
impl std::ops::Add<i64> for EpochMs {
    type Output = EpochMs;
    fn add(self, ms: i64) -> EpochMs {
        EpochMs(self.0.saturating_add(ms))
    }
}

/// A moment `ms` milliseconds earlier, saturating.
impl std::ops::Sub<i64> for EpochMs {
    type Output = EpochMs;
    fn sub(self, ms: i64) -> EpochMs {
        EpochMs(self.0.saturating_sub(ms))
    }
}

/// The milliseconds from `earlier` to this moment (negative when `earlier` is later).
impl std::ops::Sub<EpochMs> for EpochMs {
    type Output = i64;
    fn sub(self, earlier: EpochMs) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for EpochMs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_add_and_subtract_in_milliseconds() {
        let at = EpochMs(1_700_000_000_000);
        assert_eq!(at + 1_500, EpochMs(1_700_000_001_500));
        assert_eq!(at - 1_500, EpochMs(1_699_999_998_500));
        assert_eq!((at + 1_500) - at, 1_500);
        assert_eq!(at - (at + 1_500), -1_500);
        assert_eq!(EpochMs(i64::MAX) + 1, EpochMs(i64::MAX), "saturates");
        assert!(at < at + 1);
    }

    #[test]
    fn on_the_wire_a_moment_is_a_plain_number() {
        assert_eq!(serde_json::to_string(&EpochMs(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<EpochMs>("42").unwrap(), EpochMs(42));
    }

    #[test]
    fn now_is_after_this_code_was_written() {
        assert!(EpochMs::now() > EpochMs(1_796_000_000_000));
    }
}

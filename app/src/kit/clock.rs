//! Times as people read them, in the browser's time zone. The offset travels in the `tz`
//! cookie (set by the browser entry point), so the server renders the same text the browser
//! would and hydration matches.

use crate::epoch::EpochMs;

/// The viewer's offset from UTC in minutes (east positive), from the `tz` cookie; 0 if unknown.
pub fn viewer_offset_minutes() -> i32 {
    cookie_value("tz")
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|m| m.abs() <= 14 * 60)
        .unwrap_or(0)
}

#[cfg(feature = "ssr")]
fn cookie_value(name: &str) -> Option<String> {
    leptos::reactive::owner::with_context(|parts: &axum::http::request::Parts| {
        let header = parts.headers.get(axum::http::header::COOKIE)?;
        find_cookie(header.to_str().ok()?, name)
    })
    .flatten()
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn cookie_value(name: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()?.document()?;
    let html = document.dyn_into::<web_sys::HtmlDocument>().ok()?;
    find_cookie(&html.cookie().ok()?, name)
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn cookie_value(_name: &str) -> Option<String> {
    None
}

/// A cookie's value in a `Cookie` header.
pub(crate) fn find_cookie(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// (year, month 1-12, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Local day number (days since 1970-01-01 in the viewer's zone).
pub fn local_day(at: EpochMs, offset_minutes: i32) -> i64 {
    (at.0 + i64::from(offset_minutes) * 60_000).div_euclid(86_400_000)
}

/// `14:05`.
pub fn time_of_day(at: EpochMs, offset_minutes: i32) -> String {
    let local = at.0 + i64::from(offset_minutes) * 60_000;
    let minutes = local.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `22/11/2026`.
pub fn date(at: EpochMs, offset_minutes: i32) -> String {
    let (year, month, day) = civil_from_days(local_day(at, offset_minutes));
    format!("{day:02}/{month:02}/{year}")
}

/// `2026-11-22T14:05Z`: a moment in UTC as files exchanged between programs write it.
pub fn iso_date(at: EpochMs) -> String {
    let (year, month, day) = civil_from_days(local_day(at, 0));
    format!("{year:04}-{month:02}-{day:02}T{}Z", time_of_day(at, 0))
}

/// `22/11`: a day of the last weeks, where the year goes without saying.
pub fn short_date(at: EpochMs, offset_minutes: i32) -> String {
    let (_, month, day) = civil_from_days(local_day(at, offset_minutes));
    format!("{day:02}/{month:02}")
}

/// A remaining time as `5 h 12 min` / `3 d 4 h` / `12 min`, never overstated (whole minutes
/// left, at least 1 while any time is left). Up to two days it counts hours: a fresh
/// WhatsApp window reads `24 h 0 min`, not `1 d 0 h`.
pub fn duration(ms: i64) -> String {
    let minutes = if ms > 0 { (ms / 60_000).max(1) } else { 0 };
    let (days, hours, minutes) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    if days >= 2 {
        format!("{days} d {hours} h")
    } else if days == 1 {
        format!("{} h {minutes} min", 24 + hours)
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    }
}

/// A running time as a stopwatch shows it: `0:07`, `1:30`, `12:05`.
pub fn stopwatch(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stopwatch_shows_minutes_and_seconds() {
        assert_eq!(stopwatch(7_400), "0:07");
        assert_eq!(stopwatch(90_000), "1:30");
        assert_eq!(stopwatch(725_999), "12:05");
        assert_eq!(stopwatch(-5), "0:00");
    }

    use super::*;

    #[test]
    fn files_get_moments_in_utc() {
        assert_eq!(iso_date(EpochMs(1_795_321_500_000)), "2026-11-22T04:25Z");
    }

    #[test]
    fn times_and_dates_in_the_viewers_zone() {
        // 2026-11-22 04:15 UTC
        let t = EpochMs(1_795_320_900_000);
        assert_eq!(time_of_day(t, 0), "04:15");
        assert_eq!(date(t, 0), "22/11/2026");
        // Mexico City (UTC-6): still the 21st.
        assert_eq!(time_of_day(t, -360), "22:15");
        assert_eq!(date(t, -360), "21/11/2026");
        assert_eq!(local_day(t, -360) + 1, local_day(t, 0));
        assert_eq!(date(EpochMs(0), 0), "01/01/1970");
        assert_eq!(date(EpochMs(951_782_400_000), 0), "29/02/2000");
    }

    #[test]
    fn remaining_time_is_never_overstated() {
        assert_eq!(duration(1), "1 min");
        assert_eq!(duration(86_400_000 - 5_000), "23 h 59 min");
        assert_eq!(duration(3_600_000 * 5 + 60_000 * 12 + 59_000), "5 h 12 min");
        assert_eq!(duration(86_400_000), "24 h 0 min");
        assert_eq!(
            duration(86_400_000 + 3_600_000 * 23 + 60_000 * 59),
            "47 h 59 min"
        );
        assert_eq!(duration(86_400_000 * 2), "2 d 0 h");
        assert_eq!(duration(86_400_000 * 3 + 3_600_000 * 4), "3 d 4 h");
        assert_eq!(duration(-5), "0 min");
    }

    #[test]
    fn cookies_are_found_by_name() {
        assert_eq!(
            find_cookie("a=1; tz=-360; b=2", "tz").as_deref(),
            Some("-360")
        );
        assert_eq!(find_cookie("tzx=1", "tz"), None);
    }
}

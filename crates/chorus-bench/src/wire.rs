//! Cheap classification of Engine.IO / Socket.IO text frames, without JSON parsing on the
//! hot path: a receiver only needs the packet type, the event name and one timestamp.

/// What a server frame is, as far as the load generator cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Engine.IO open `0{...}`.
    Open,
    /// Engine.IO ping `2`: must be answered with `3`.
    Ping,
    /// Engine.IO close `1` or Socket.IO disconnect `41`.
    Closed,
    /// Socket.IO namespace connect accepted `40{...}`.
    Connected,
    /// Socket.IO namespace connect refused `44{...}` with its payload.
    Refused(&'a str),
    /// Socket.IO event `42[...]` (any ack id skipped), with its name and the whole frame.
    Event(&'a str),
    /// Socket.IO ack `43<id>[...]` with the id and the payload after the id.
    Ack(u64, &'a str),
    /// Anything else.
    Other,
}

/// Classifies one text frame from the server (default namespace only).
pub fn classify(s: &str) -> Frame<'_> {
    let b = s.as_bytes();
    match (b.first(), b.get(1)) {
        (Some(b'2'), None) => Frame::Ping,
        (Some(b'0'), _) => Frame::Open,
        (Some(b'1'), None) => Frame::Closed,
        (Some(b'4'), Some(b'2')) => event_name(&s[2..]).map_or(Frame::Other, Frame::Event),
        (Some(b'4'), Some(b'3')) => {
            let rest = &s[2..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..digits].parse() {
                Ok(id) => Frame::Ack(id, &rest[digits..]),
                Err(_) => Frame::Other,
            }
        }
        (Some(b'4'), Some(b'0')) => Frame::Connected,
        (Some(b'4'), Some(b'4')) => Frame::Refused(&s[2..]),
        (Some(b'4'), Some(b'1')) => Frame::Closed,
        _ => Frame::Other,
    }
}

/// The event name of a `42` payload: skips an ack id, expects `["name"`.
fn event_name(rest: &str) -> Option<&str> {
    let start = rest.find('[')?;
    let after = rest[start + 1..].strip_prefix('"')?;
    let end = after.find('"')?;
    Some(&after[..end])
}

/// Microseconds since the Unix epoch of the top-level `"timestamp":"<RFC 3339>"` field.
pub fn timestamp_us(frame: &str) -> Option<u64> {
    let key = "\"timestamp\":\"";
    let at = frame.find(key)? + key.len();
    let rest = &frame[at..];
    let end = rest.find('"')?;
    parse_rfc3339_us(&rest[..end])
}

/// The send time a publisher put in a comment's text (`"text":"bench <µs> ..."`).
pub fn comment_sent_us(frame: &str) -> Option<u64> {
    let key = "\"text\":\"bench ";
    let at = frame.find(key)? + key.len();
    let rest = &frame[at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Whether an ack payload (`[{...}]`) says `"ok":true`.
pub fn ack_ok(payload: &str) -> bool {
    payload.contains("\"ok\":true")
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into µs since the epoch.
pub fn parse_rfc3339_us(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100_000i64;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let off = num(i + 1, 2)? * 3600 + num(i + 4, 2)? * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    u64::try_from(secs * 1_000_000 + micros).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classifies_engine_and_socket_packets() {
        assert_eq!(classify("2"), Frame::Ping);
        assert_eq!(classify("0{\"sid\":\"x\"}"), Frame::Open);
        assert_eq!(classify("40{\"sid\":\"y\"}"), Frame::Connected);
        assert_eq!(
            classify("44{\"message\":\"unauthorized\"}"),
            Frame::Refused("{\"message\":\"unauthorized\"}")
        );
        assert_eq!(
            classify("42[\"content:like\",{}]"),
            Frame::Event("content:like")
        );
        assert_eq!(
            classify("4212[\"content:comment\",{}]"),
            Frame::Event("content:comment")
        );
        assert_eq!(
            classify("4317[{\"ok\":true}]"),
            Frame::Ack(17, "[{\"ok\":true}]")
        );
        assert_eq!(classify("41"), Frame::Closed);
        assert_eq!(classify("1"), Frame::Closed);
        assert_eq!(classify("3"), Frame::Other);
    }

    #[test]
    fn parses_rfc3339_variants() {
        assert_eq!(parse_rfc3339_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_us("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        // 2024-02-29T12:34:56.789Z = 1709210096.789
        assert_eq!(
            parse_rfc3339_us("2024-02-29T12:34:56.789Z"),
            Some(1_709_210_096_789_000)
        );
        assert_eq!(
            parse_rfc3339_us("2024-02-29T12:34:56.789123456Z"),
            Some(1_709_210_096_789_123)
        );
        assert_eq!(
            parse_rfc3339_us("2024-02-29T14:34:56.789+02:00"),
            Some(1_709_210_096_789_000)
        );
        assert_eq!(parse_rfc3339_us("not a time"), None);
    }

    #[test]
    fn finds_timestamp_and_comment_send_time() {
        let like = r#"42["content:like",{"contentId":"c","isLiked":true,"likesCount":1,"timestamp":"1970-01-01T00:00:02Z","userId":"u"}]"#;
        assert_eq!(timestamp_us(like), Some(2_000_000));
        let comment = r#"42["content:comment",{"comment":{"id":"1","text":"bench 123456 p1 s2"},"commentsCount":1}]"#;
        assert_eq!(comment_sent_us(comment), Some(123_456));
        assert_eq!(comment_sent_us(like), None);
    }

    #[test]
    fn ack_ok_reads_the_envelope() {
        assert!(ack_ok(r#"[{"ok":true,"data":{}}]"#));
        assert!(!ack_ok(r#"[{"ok":false,"error":{"code":"rate_limited"}}]"#));
    }
}

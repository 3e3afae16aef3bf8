//! Voice notes recorded in the browser. Browsers record Opus in a WebM container; WhatsApp
//! takes Opus only in Ogg (`audio/ogg; codecs=opus`), and then shows it as a voice note. The
//! audio is not re-encoded: its Opus packets are moved from one container to the other.
//! Never panics on hostile input; anything but WebM with an Opus track gives `None`.

/// EBML ids of the elements read (Matroska specification).
const SEGMENT: u64 = 0x1853_8067;
const CLUSTER: u64 = 0x1F43_B675;
const TRACKS: u64 = 0x1654_AE6B;
const TRACK_ENTRY: u64 = 0xAE;
const TRACK_NUMBER: u64 = 0xD7;
const CODEC_ID: u64 = 0x86;
const CODEC_PRIVATE: u64 = 0x63A2;
const AUDIO: u64 = 0xE1;
const CHANNELS: u64 = 0x9F;
const BLOCK_GROUP: u64 = 0xA0;
const BLOCK: u64 = 0xA1;
const SIMPLE_BLOCK: u64 = 0xA3;

/// Elements whose children are read rather than skipped.
const CONTAINERS: &[u64] = &[SEGMENT, CLUSTER, TRACKS, TRACK_ENTRY, AUDIO, BLOCK_GROUP];

/// A WebM recording's Opus audio as an Ogg Opus file, or `None` if it is not one.
pub fn webm_to_ogg(webm: &[u8]) -> Option<Vec<u8>> {
    let track = read_webm(webm)?;
    if track.packets.is_empty() {
        return None;
    }
    Some(write_ogg(&track))
}

/// What is read of the recording: the Opus track and its packets in order.
#[derive(Default)]
struct OpusTrack {
    number: Option<u64>,
    is_opus: bool,
    channels: u8,
    head: Option<Vec<u8>>,
    packets: Vec<Vec<u8>>,
}

/// An EBML variable-length integer at `at`: its value and length. `marker` keeps the length
/// bits (element ids keep them, sizes do not).
fn vint(bytes: &[u8], at: usize, marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = if marker {
        first as u64
    } else {
        (first as u64) & (0xFF >> len)
    };
    for i in 1..len {
        value = (value << 8) | *bytes.get(at + i)? as u64;
    }
    Some((value, len))
}

/// An element's size field: `None` inside means "unknown" (live recordings write that).
fn size(bytes: &[u8], at: usize) -> Option<(Option<u64>, usize)> {
    let (value, len) = vint(bytes, at, false)?;
    let all_ones = (1u64 << (7 * len)) - 1;
    Some(((value != all_ones).then_some(value), len))
}

fn read_webm(bytes: &[u8]) -> Option<OpusTrack> {
    if !bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return None;
    }
    let mut track = OpusTrack {
        channels: 1,
        ..OpusTrack::default()
    };
    let mut at = 0usize;
    // Elements are read one after the other; a container's children simply follow it, which
    // also reads the clusters of unknown size that live recordings write.
    while at < bytes.len() {
        let (id, id_len) = vint(bytes, at, true)?;
        let (len, len_len) = size(bytes, at + id_len)?;
        let body = at + id_len + len_len;
        if CONTAINERS.contains(&id) {
            at = body;
            continue;
        }
        let len = len? as usize;
        let end = body.checked_add(len)?;
        let Some(data) = bytes.get(body..end) else {
            // A recording cut short keeps what was complete.
            break;
        };
        match id {
            TRACK_NUMBER => track.number = Some(uint(data)),
            CODEC_ID => track.is_opus = data == b"A_OPUS",
            CODEC_PRIVATE if data.starts_with(b"OpusHead") => track.head = Some(data.to_vec()),
            CHANNELS => track.channels = uint(data).clamp(1, 2) as u8,
            SIMPLE_BLOCK | BLOCK => {
                let (number, n) = vint(data, 0, false)?;
                // Track number, a 16-bit time and a flags byte; laced blocks are not written
                // by browsers and are left out.
                let flags = *data.get(n + 2)?;
                let frame = data.get(n + 3..)?;
                if Some(number) == track.number.or(Some(1))
                    && flags & 0x06 == 0
                    && !frame.is_empty()
                {
                    track.packets.push(frame.to_vec());
                }
            }
            _ => {}
        }
        at = end;
    }
    track.is_opus.then_some(track)
}

fn uint(data: &[u8]) -> u64 {
    data.iter()
        .take(8)
        .fold(0, |value, b| (value << 8) | *b as u64)
}

/// Samples (at 48 kHz) in one Opus packet, from its table-of-contents byte (RFC 6716 §3.1).
fn samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |b| (b & 0x3F) as u64),
    };
    frame * frames
}

fn write_ogg(track: &OpusTrack) -> Vec<u8> {
    let head = track.head.clone().unwrap_or_else(|| {
        // Version 1, channels, 312 samples of pre-skip (the encoder's usual), 48 kHz, no gain,
        // mapping family 0.
        let mut head = b"OpusHead".to_vec();
        head.extend([1, track.channels]);
        head.extend(312u16.to_le_bytes());
        head.extend(48_000u32.to_le_bytes());
        head.extend([0, 0, 0]);
        head
    });
    let vendor = b"Buzon";
    let mut tags = b"OpusTags".to_vec();
    tags.extend((vendor.len() as u32).to_le_bytes());
    tags.extend(vendor);
    tags.extend(0u32.to_le_bytes());

    let serial = 0x4275_7a6e; // "Buzn"
    let mut out = Vec::new();
    let mut sequence = 0u32;
    let mut page = |out: &mut Vec<u8>, packets: &[&[u8]], granule: u64, flags: u8| {
        write_page(out, packets, granule, flags, serial, sequence);
        sequence += 1;
    };
    page(&mut out, &[&head], 0, 0x02);
    page(&mut out, &[&tags], 0, 0);
    // About a second of audio per page.
    let mut granule = 0u64;
    let chunks: Vec<&[Vec<u8>]> = track.packets.chunks(50).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        granule += chunk.iter().map(|p| samples(p)).sum::<u64>();
        let packets: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        let last = i + 1 == chunks.len();
        page(&mut out, &packets, granule, if last { 0x04 } else { 0 });
    }
    out
}

/// One Ogg page (RFC 3533) holding whole packets.
fn write_page(
    out: &mut Vec<u8>,
    packets: &[&[u8]],
    granule: u64,
    flags: u8,
    serial: u32,
    sequence: u32,
) {
    let mut lacing = Vec::new();
    for packet in packets {
        lacing.extend(std::iter::repeat_n(255u8, packet.len() / 255));
        lacing.push((packet.len() % 255) as u8);
    }
    let start = out.len();
    out.extend(b"OggS");
    out.push(0);
    out.push(flags);
    out.extend(granule.to_le_bytes());
    out.extend(serial.to_le_bytes());
    out.extend(sequence.to_le_bytes());
    out.extend([0; 4]);
    out.push(lacing.len() as u8);
    out.extend(&lacing);
    for packet in packets {
        out.extend(*packet);
    }
    let crc = crc32(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, starting at zero.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= (byte as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads an Ogg file back: its pages' packets and granule positions, checking each CRC.
    fn read_ogg(bytes: &[u8]) -> Vec<(u8, u64, Vec<Vec<u8>>)> {
        let mut pages = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 4], b"OggS");
            let flags = bytes[at + 5];
            let granule = u64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap());
            let count = bytes[at + 26] as usize;
            let lacing = &bytes[at + 27..at + 27 + count];
            let body_len: usize = lacing.iter().map(|l| *l as usize).sum();
            let end = at + 27 + count + body_len;
            let mut page = bytes[at..end].to_vec();
            let stored = u32::from_le_bytes(page[22..26].try_into().unwrap());
            page[22..26].copy_from_slice(&[0; 4]);
            assert_eq!(crc32(&page), stored, "page CRC");
            let mut packets = Vec::new();
            let mut current = Vec::new();
            let mut offset = at + 27 + count;
            for l in lacing {
                current.extend(&bytes[offset..offset + *l as usize]);
                offset += *l as usize;
                if *l < 255 {
                    packets.push(std::mem::take(&mut current));
                }
            }
            pages.push((flags, granule, packets));
            at = end;
        }
        pages
    }

    fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01);
        out.extend(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend(body);
        out
    }

    /// A WebM file as a browser records it: segment and cluster of unknown size.
    fn recording(packets: &[Vec<u8>]) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend([1, 1, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
        let entry = [
            element(&[0xD7], &[1]),
            element(&[0x86], b"A_OPUS"),
            element(&[0x63, 0xA2], &head),
            element(&[0xE1], &element(&[0x9F], &[1])),
        ]
        .concat();
        let mut out = element(&[0x1A, 0x45, 0xDF, 0xA3], &element(&[0x42, 0x82], b"webm"));
        out.extend([
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        out.extend(element(
            &[0x16, 0x54, 0xAE, 0x6B],
            &element(&[0xAE], &entry),
        ));
        out.extend([0x1F, 0x43, 0xB6, 0x75, 0xFF]);
        out.extend(element(&[0xE7], &[0]));
        for (i, packet) in packets.iter().enumerate() {
            let mut block = vec![0x81];
            block.extend(((i * 20) as i16).to_be_bytes());
            block.push(0x80);
            block.extend(packet);
            out.extend(element(&[0xA3], &block));
        }
        out
    }

    #[test]
    fn a_browser_recording_becomes_an_ogg_opus_file_with_the_same_packets() {
        // 20 ms CELT packets (config 31, one frame), one of them longer than a lacing value.
        let packets: Vec<Vec<u8>> = (0..120)
            .map(|i| {
                let mut p = vec![0xF8];
                p.extend(std::iter::repeat_n(i as u8, if i == 7 { 300 } else { 40 }));
                p
            })
            .collect();
        let ogg = webm_to_ogg(&recording(&packets)).expect("converted");
        assert_eq!(crate::files::sniff(&ogg), Some("audio/ogg"));
        let pages = read_ogg(&ogg);
        assert_eq!(pages[0].0, 0x02, "first page begins the stream");
        assert!(pages[0].2[0].starts_with(b"OpusHead"));
        assert_eq!(
            &pages[0].2[0][10..12],
            &[0x38, 0x01],
            "the recording's pre-skip is kept"
        );
        assert!(pages[1].2[0].starts_with(b"OpusTags"));
        let audio: Vec<Vec<u8>> = pages[2..].iter().flat_map(|p| p.2.clone()).collect();
        assert_eq!(audio, packets);
        let last = pages.last().unwrap();
        assert_eq!(last.0, 0x04, "last page ends the stream");
        assert_eq!(last.1, 120 * 960, "granule counts 48 kHz samples");
    }

    #[test]
    fn a_real_chromium_recording_converts() {
        // 1.5 s from Chromium's MediaRecorder (fake microphone), as a browser uploads it.
        let webm = include_bytes!("../fixtures/chromium-voice.webm");
        let ogg = webm_to_ogg(webm).expect("converted");
        let pages = read_ogg(&ogg);
        let seconds = pages.last().unwrap().1 as f64 / 48_000.0;
        assert!((1.2..2.0).contains(&seconds), "{seconds} s");
        assert!(pages[2..].iter().all(|p| !p.2.is_empty()));
    }

    #[test]
    fn packet_lengths_follow_the_table_of_contents() {
        assert_eq!(samples(&[0xF8]), 960); // CELT 20 ms
        assert_eq!(samples(&[0x08]), 960); // SILK 20 ms
        assert_eq!(samples(&[0xF9]), 1920); // two frames
        assert_eq!(samples(&[0xFB, 0x03]), 2880); // three frames
        assert_eq!(samples(&[0x18]), 2880); // SILK 60 ms
        assert_eq!(samples(&[]), 0);
    }

    #[test]
    fn anything_else_is_refused_without_panicking() {
        assert!(webm_to_ogg(b"OggS").is_none());
        assert!(webm_to_ogg(&[]).is_none());
        let full = recording(&[vec![0xF8, 1, 2, 3]]);
        for cut in 0..full.len() {
            let _ = webm_to_ogg(&full[..cut]);
        }
        let mut vp8 = full.clone();
        let at = vp8.windows(6).position(|w| w == b"A_OPUS").unwrap();
        vp8[at..at + 6].copy_from_slice(b"V_VP8\0");
        assert!(webm_to_ogg(&vp8).is_none());
    }
}

//! Whatever bytes arrive at a webhook, every channel's parser returns a batch or an error and
//! never panics. The first byte picks the channel; the rest is the body.
#![no_main]

use channels::Channel;
use libfuzzer_sys::fuzz_target;

const CHANNELS: [Channel; 4] = [
    Channel::Whatsapp,
    Channel::Messenger,
    Channel::Instagram,
    Channel::Twilio,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let _ = CHANNELS[pick as usize % CHANNELS.len()].parse_webhook(body);
});

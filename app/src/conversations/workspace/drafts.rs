//! Text written in a conversation's composer and not sent. Kept per conversation while the
//! page is open, and in the browser's storage per user, so that a reload or a closed tab
//! brings it back, as a messaging app's drafts do.

use leptos::prelude::*;

/// How many conversations keep a draft; past it, the oldest written goes.
const MAX: usize = 200;

#[derive(Clone, Copy)]
pub struct Drafts {
    /// Conversation id and text, the most recently written last.
    kept: StoredValue<Vec<(i64, String)>>,
    /// The user whose stored drafts were read, 0 until then.
    owner: StoredValue<i64>,
    /// Bumped when the stored drafts are read, so open composers take theirs.
    loaded: RwSignal<u32>,
}

impl Drafts {
    pub fn new() -> Drafts {
        Drafts {
            kept: StoredValue::new(Vec::new()),
            owner: StoredValue::new(0),
            loaded: RwSignal::new(0),
        }
    }

    /// Reads the signed-in user's stored drafts; what was written on this page before wins.
    pub fn open(self, user_id: i64) {
        if user_id == 0 || self.owner.get_value() == user_id {
            return;
        }
        self.owner.set_value(user_id);
        let stored = storage::load(user_id);
        // Drafts typed before the stored ones were read are merged in and written back;
        // otherwise the storage already holds exactly what was read.
        let typed = self.kept.with_value(|kept| !kept.is_empty());
        self.kept
            .update_value(|kept| *kept = merged(stored, std::mem::take(kept)));
        if typed {
            self.save();
        }
        self.loaded.update(|n| *n += 1);
    }

    pub fn get(self, conversation_id: i64) -> Option<String> {
        self.kept
            .with_value(|kept| find(kept, conversation_id).map(str::to_string))
    }

    /// Tracks the reading of the stored drafts.
    pub fn track(self) {
        self.loaded.track();
    }

    /// Keeps `text` as the conversation's draft; an empty text removes it.
    pub fn put(self, conversation_id: i64, text: &str) {
        let changed = self
            .kept
            .try_update_value(|kept| put(kept, conversation_id, text));
        if changed == Some(true) {
            self.save();
        }
    }

    fn save(self) {
        let user_id = self.owner.get_value();
        if user_id != 0 {
            self.kept.with_value(|kept| storage::save(user_id, kept));
        }
    }
}

impl Default for Drafts {
    fn default() -> Self {
        Drafts::new()
    }
}

fn find(kept: &[(i64, String)], conversation_id: i64) -> Option<&str> {
    kept.iter()
        .find(|(id, _)| *id == conversation_id)
        .map(|(_, text)| text.as_str())
}

/// Whether anything changed.
fn put(kept: &mut Vec<(i64, String)>, conversation_id: i64, text: &str) -> bool {
    if find(kept, conversation_id).unwrap_or_default() == text {
        return false;
    }
    kept.retain(|(id, _)| *id != conversation_id);
    if !text.is_empty() {
        kept.push((conversation_id, text.to_string()));
        if kept.len() > MAX {
            kept.drain(..kept.len() - MAX);
        }
    }
    true
}

/// The stored drafts with this page's on top.
fn merged(stored: Vec<(i64, String)>, here: Vec<(i64, String)>) -> Vec<(i64, String)> {
    let mut kept = stored;
    for (id, text) in here {
        put(&mut kept, id, &text);
    }
    kept
}

/// One entry per user in `localStorage`.
mod storage {
    use crate::kit::browser::{load_list, save_list};

    fn entry(user_id: i64) -> String {
        format!("buzon.drafts.{user_id}")
    }

    pub fn load(user_id: i64) -> Vec<(i64, String)> {
        load_list(&entry(user_id))
    }

    pub fn save(user_id: i64, kept: &[(i64, String)]) {
        save_list(&entry(user_id), kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_text_removes_the_draft_and_a_new_one_goes_last() {
        let mut kept = vec![(1, "hola".to_string()), (2, "buenas".to_string())];
        assert!(!put(&mut kept, 1, "hola"), "the same text is no change");
        assert!(put(&mut kept, 1, "hola, ¿qué tal?"));
        assert_eq!(kept, [(2, "buenas".into()), (1, "hola, ¿qué tal?".into())]);
        assert!(put(&mut kept, 2, ""));
        assert_eq!(kept, [(1, "hola, ¿qué tal?".into())]);
        assert!(!put(&mut kept, 3, ""), "nothing to remove");
    }

    #[test]
    fn past_the_limit_the_oldest_draft_goes() {
        let mut kept = Vec::new();
        for id in 0..=MAX as i64 {
            put(&mut kept, id, "x");
        }
        assert_eq!(kept.len(), MAX);
        assert_eq!(find(&kept, 0), None);
        assert_eq!(find(&kept, MAX as i64), Some("x"));
    }

    #[test]
    fn what_was_written_on_the_page_wins_over_the_stored_draft() {
        let stored = vec![(1, "viejo".to_string()), (2, "guardado".to_string())];
        let here = vec![(1, "nuevo".to_string()), (3, "otro".to_string())];
        let kept = merged(stored, here);
        assert_eq!(find(&kept, 1), Some("nuevo"));
        assert_eq!(find(&kept, 2), Some("guardado"));
        assert_eq!(find(&kept, 3), Some("otro"));
    }
}

//! Bounded work per user and overall: open live streams, uploads in progress. A slot is taken
//! before the work starts and given back when it is dropped; none free, the work is refused at
//! once rather than queued.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many of one kind of work run at once, per user and in all.
#[derive(Clone)]
pub struct Slots {
    per_user: usize,
    overall: usize,
    taken: Arc<Mutex<Taken>>,
}

#[derive(Default)]
struct Taken {
    total: usize,
    by_user: HashMap<i64, usize>,
}

/// One piece of work running, counted until dropped.
pub struct Slot {
    slots: Slots,
    user_id: i64,
}

impl Slots {
    pub fn new(per_user: usize, overall: usize) -> Slots {
        Slots {
            per_user,
            overall,
            taken: Arc::default(),
        }
    }

    /// A slot for `user_id`, unless they or everyone together hold all there are.
    pub fn take(&self, user_id: i64) -> Option<Slot> {
        let mut taken = self.taken.lock().ok()?;
        if taken.total >= self.overall {
            return None;
        }
        let mine = taken.by_user.entry(user_id).or_default();
        if *mine >= self.per_user {
            return None;
        }
        *mine += 1;
        taken.total += 1;
        Some(Slot {
            slots: self.clone(),
            user_id,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut taken) = self.slots.taken.lock() {
            taken.total = taken.total.saturating_sub(1);
            if let Some(mine) = taken.by_user.get_mut(&self.user_id) {
                *mine -= 1;
                if *mine == 0 {
                    taken.by_user.remove(&self.user_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_limited_per_user_and_overall_and_given_back_when_dropped() {
        let slots = Slots::new(2, 3);
        let a1 = slots.take(1).unwrap();
        let _a2 = slots.take(1).unwrap();
        assert!(slots.take(1).is_none(), "per user");
        let _b1 = slots.take(2).unwrap();
        assert!(slots.take(3).is_none(), "overall");
        drop(a1);
        assert!(slots.take(3).is_some());
        assert!(slots.take(1).is_some());
    }
}

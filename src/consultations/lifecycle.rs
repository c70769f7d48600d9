//! A consultation's lifecycle as data, without I/O:
//!
//! ```text
//! draft ──publish──▶ published ──deadline──▶ closed ──lots decided──▶ awarded
//!   │                    │                      │                     partly_awarded
//!   └──────cancel────────┴────────cancel────────┘                     unsuccessful
//!                        ▼
//!                    cancelled
//! ```
//!
//! `closed` is reached at the deadline by the server's clock: a published
//! consultation whose deadline has passed *is* closed ([`effective`]),
//! whether or not the closing has been recorded yet.

use crate::codes::{ConsultationStatus, LotStatus};

/// What the buyer asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Publish,
    Cancel,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Cancel => "cancel",
        }
    }
}

const TRANSITIONS: [(ConsultationStatus, Action, ConsultationStatus); 4] = [
    (
        ConsultationStatus::Draft,
        Action::Publish,
        ConsultationStatus::Published,
    ),
    (
        ConsultationStatus::Draft,
        Action::Cancel,
        ConsultationStatus::Cancelled,
    ),
    (
        ConsultationStatus::Published,
        Action::Cancel,
        ConsultationStatus::Cancelled,
    ),
    (
        ConsultationStatus::Closed,
        Action::Cancel,
        ConsultationStatus::Cancelled,
    ),
];

/// Where `action` leads from `from` (an effective status), if allowed.
pub fn next(from: ConsultationStatus, action: Action) -> Option<ConsultationStatus> {
    TRANSITIONS
        .iter()
        .find(|(f, a, _)| *f == from && *a == action)
        .map(|(.., to)| *to)
}

/// What may be done from `from`, for error messages.
pub fn allowed(from: ConsultationStatus) -> Vec<&'static str> {
    TRANSITIONS
        .iter()
        .filter(|(f, ..)| *f == from)
        .map(|(_, a, _)| a.name())
        .collect()
}

/// The status as the clock has it: published past its deadline is closed.
pub fn effective(stored: ConsultationStatus, deadline_passed: bool) -> ConsultationStatus {
    if stored == ConsultationStatus::Published && deadline_passed {
        ConsultationStatus::Closed
    } else {
        stored
    }
}

/// The consultation's status once every lot is decided; `None` while one is open.
pub fn outcome(lots: &[LotStatus]) -> Option<ConsultationStatus> {
    if lots.contains(&LotStatus::Open) {
        return None;
    }
    let awarded = lots.iter().filter(|l| **l == LotStatus::Awarded).count();
    Some(if awarded == lots.len() {
        ConsultationStatus::Awarded
    } else if awarded == 0 {
        ConsultationStatus::Unsuccessful
    } else {
        ConsultationStatus::PartlyAwarded
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsultationStatus::*;

    #[test]
    fn publish_once_cancel_until_decided() {
        assert_eq!(next(Draft, Action::Publish), Some(Published));
        assert_eq!(next(Published, Action::Publish), None);
        assert_eq!(next(Closed, Action::Cancel), Some(Cancelled));
        for decided in [Awarded, PartlyAwarded, Unsuccessful, Cancelled] {
            assert_eq!(next(decided, Action::Cancel), None);
            assert!(allowed(decided).is_empty());
        }
    }

    #[test]
    fn the_deadline_closes_a_published_consultation() {
        assert_eq!(effective(Published, true), Closed);
        assert_eq!(effective(Published, false), Published);
        assert_eq!(effective(Draft, true), Draft);
    }

    #[test]
    fn the_outcome_follows_the_lots() {
        use LotStatus as L;
        assert_eq!(outcome(&[L::Awarded, L::Open]), None);
        assert_eq!(outcome(&[L::Awarded, L::Awarded]), Some(Awarded));
        assert_eq!(outcome(&[L::Awarded, L::Unsuccessful]), Some(PartlyAwarded));
        assert_eq!(outcome(&[L::Unsuccessful]), Some(Unsuccessful));
    }
}

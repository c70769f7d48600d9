//! Who may move a supply relationship from which status to which: the whole
//! state machine in one table, without I/O.

use crate::codes::{FeedEventType, SupplyStatus};

/// The side of a relationship the caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Distributor,
    Farm,
}

/// A transition, named as its endpoint:
/// `POST /api/v1/supply-relationships/{id}/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Refuse,
    End,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Refuse => "refuse",
            Action::End => "end",
        }
    }

    /// The feed's event for it.
    pub fn event_type(self) -> FeedEventType {
        match self {
            Action::Accept => FeedEventType::SupplyAccepted,
            Action::Refuse => FeedEventType::SupplyRefused,
            Action::End => FeedEventType::SupplyEnded,
        }
    }
}

/// (from, action, who, to): the farm answers a request; either side ends a
/// relationship (the distributor withdrawing its request ends it too).
const TRANSITIONS: [(SupplyStatus, Action, Party, SupplyStatus); 5] = [
    (
        SupplyStatus::Requested,
        Action::Accept,
        Party::Farm,
        SupplyStatus::Accepted,
    ),
    (
        SupplyStatus::Requested,
        Action::Refuse,
        Party::Farm,
        SupplyStatus::Refused,
    ),
    (
        SupplyStatus::Requested,
        Action::End,
        Party::Distributor,
        SupplyStatus::Ended,
    ),
    (
        SupplyStatus::Accepted,
        Action::End,
        Party::Distributor,
        SupplyStatus::Ended,
    ),
    (
        SupplyStatus::Accepted,
        Action::End,
        Party::Farm,
        SupplyStatus::Ended,
    ),
];

/// Where `action` by `party` leads from `from`, if it is allowed.
pub fn next(from: SupplyStatus, action: Action, party: Party) -> Option<SupplyStatus> {
    TRANSITIONS
        .iter()
        .find(|(f, a, p, _)| *f == from && *a == action && *p == party)
        .map(|(.., to)| *to)
}

/// What `party` may do from `from`, for error messages.
pub fn allowed(from: SupplyStatus, party: Party) -> Vec<&'static str> {
    TRANSITIONS
        .iter()
        .filter(|(f, _, p, _)| *f == from && *p == party)
        .map(|(_, a, ..)| a.name())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Action, Party, next};
    use crate::codes::SupplyStatus::*;

    #[test]
    fn only_the_farm_answers_and_either_side_ends() {
        assert_eq!(next(Requested, Action::Accept, Party::Farm), Some(Accepted));
        assert_eq!(next(Requested, Action::Accept, Party::Distributor), None);
        assert_eq!(next(Requested, Action::Refuse, Party::Farm), Some(Refused));
        assert_eq!(next(Accepted, Action::End, Party::Farm), Some(Ended));
        assert_eq!(next(Accepted, Action::End, Party::Distributor), Some(Ended));
        assert_eq!(next(Accepted, Action::Accept, Party::Farm), None);
        for action in [Action::Accept, Action::Refuse, Action::End] {
            for party in [Party::Farm, Party::Distributor] {
                assert_eq!(next(Refused, action, party), None);
                assert_eq!(next(Ended, action, party), None);
            }
        }
    }
}

//! Who may move a contract from which status to which: the state machine
//! as data, without I/O.
//!
//! An awarded lot's contract starts `active`. A direct contract starts
//! `proposed` by one party; the other party accepts it (`active`) or
//! declines it (`declined`). Either party terminates an active contract
//! early, with a reason (`terminated`). An active contract past its last
//! day (Paris) is `expired`. Declined, expired and terminated are final.

use crate::codes::ContractStatus;

/// The side of a contract the caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The buyer, or the authority speaking for it.
    Buyer,
    Supplier,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Terminate,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Terminate => "terminate",
        }
    }

    pub fn target(self) -> ContractStatus {
        match self {
            Action::Accept => ContractStatus::Active,
            Action::Decline => ContractStatus::Declined,
            Action::Terminate => ContractStatus::Terminated,
        }
    }

    pub fn needs_reason(self) -> bool {
        self == Action::Terminate
    }
}

/// (action, from, who: the proposer's side `Some(true)`, the other side
/// `Some(false)`, either `None`).
const TABLE: [(Action, ContractStatus, Option<bool>); 3] = [
    (Action::Accept, ContractStatus::Proposed, Some(false)),
    (Action::Decline, ContractStatus::Proposed, Some(false)),
    (Action::Terminate, ContractStatus::Active, None),
];

/// Whether `side` may take `action` on a contract in `status` that `proposer`
/// proposed (`None` for an awarded lot's).
pub fn permits(action: Action, status: ContractStatus, side: Side, proposer: Option<Side>) -> bool {
    TABLE.iter().any(|(a, from, who)| {
        *a == action
            && *from == status
            && match who {
                None => true,
                Some(is_proposer) => proposer.is_some_and(|p| (p == side) == *is_proposer),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_other_party_accepts_or_declines_a_proposal() {
        let proposed = ContractStatus::Proposed;
        assert!(permits(
            Action::Accept,
            proposed,
            Side::Buyer,
            Some(Side::Supplier)
        ));
        assert!(!permits(
            Action::Accept,
            proposed,
            Side::Supplier,
            Some(Side::Supplier)
        ));
        assert!(permits(
            Action::Decline,
            proposed,
            Side::Supplier,
            Some(Side::Buyer)
        ));
        assert!(!permits(
            Action::Decline,
            proposed,
            Side::Buyer,
            Some(Side::Buyer)
        ));
        assert!(!permits(
            Action::Terminate,
            proposed,
            Side::Buyer,
            Some(Side::Supplier)
        ));
    }

    #[test]
    fn either_party_terminates_an_active_contract_and_final_states_stay() {
        for side in [Side::Buyer, Side::Supplier] {
            assert!(permits(
                Action::Terminate,
                ContractStatus::Active,
                side,
                None
            ));
            for end in [
                ContractStatus::Declined,
                ContractStatus::Expired,
                ContractStatus::Terminated,
            ] {
                for action in [Action::Accept, Action::Decline, Action::Terminate] {
                    assert!(!permits(action, end, side, Some(Side::Buyer)));
                }
            }
        }
    }
}

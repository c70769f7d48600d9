//! Who may move an order from which status to which: the whole state machine
//! in one table, without I/O.

use chrono::{Days, NaiveDate};

use crate::codes::{FeedEventType, OrderStatus};
use crate::error::AllowedTransition;

/// The side of an order the caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Buyer,
    Supplier,
}

/// A transition, named as its endpoint: `POST /api/v1/orders/{id}/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
    Cancel,
    Deliver,
    Receive,
    Dispute,
}

/// The buyer may cancel until the end of this many days before delivery
/// (Paris time): by then the supplier has picked and loaded.
pub const BUYER_CANCEL_NOTICE_DAYS: u64 = 2;

pub const ACTIONS: [Action; 6] = [
    Action::Accept,
    Action::Reject,
    Action::Cancel,
    Action::Deliver,
    Action::Receive,
    Action::Dispute,
];

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Deliver => "deliver",
            Action::Receive => "receive",
            Action::Dispute => "dispute",
        }
    }

    pub fn target(self) -> OrderStatus {
        match self {
            Action::Accept => OrderStatus::Accepted,
            Action::Reject => OrderStatus::Rejected,
            Action::Cancel => OrderStatus::Cancelled,
            Action::Deliver => OrderStatus::Delivered,
            Action::Receive => OrderStatus::Received,
            Action::Dispute => OrderStatus::Disputed,
        }
    }

    /// The parties that may ever make it.
    pub fn parties(self) -> &'static [Party] {
        match self {
            Action::Accept | Action::Reject | Action::Deliver => &[Party::Supplier],
            Action::Receive | Action::Dispute => &[Party::Buyer],
            Action::Cancel => &[Party::Buyer, Party::Supplier],
        }
    }

    fn from(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Action::Accept | Action::Reject => &[Submitted],
            Action::Cancel => &[Submitted, Accepted],
            Action::Deliver => &[Accepted],
            Action::Receive | Action::Dispute => &[Delivered],
        }
    }

    /// Rejections and a supplier's cancellation must say why.
    pub fn needs_reason(self, party: Party) -> bool {
        matches!(
            (self, party),
            (Action::Reject, _) | (Action::Cancel, Party::Supplier)
        )
    }
}

/// Events and the integration feed name a change by its result.
pub fn event_type(status: OrderStatus) -> FeedEventType {
    match status {
        OrderStatus::Submitted => FeedEventType::OrderSubmitted,
        OrderStatus::Accepted => FeedEventType::OrderAccepted,
        OrderStatus::Rejected => FeedEventType::OrderRejected,
        OrderStatus::Cancelled => FeedEventType::OrderCancelled,
        OrderStatus::Delivered => FeedEventType::OrderDelivered,
        OrderStatus::Received => FeedEventType::OrderReceived,
        OrderStatus::Disputed => FeedEventType::OrderDisputed,
    }
}

/// The last day the buyer may cancel an order delivered on `delivery`.
pub fn buyer_cancel_until(delivery: NaiveDate) -> NaiveDate {
    delivery
        .checked_sub_days(Days::new(BUYER_CANCEL_NOTICE_DAYS))
        .unwrap_or(NaiveDate::MIN)
}

/// May `party` make `action` on an order in `status` to be delivered on
/// `delivery`, `today` being the date in Paris?
pub fn permits(
    action: Action,
    party: Party,
    status: OrderStatus,
    delivery: NaiveDate,
    today: NaiveDate,
) -> bool {
    action.parties().contains(&party)
        && action.from().contains(&status)
        && !(action == Action::Cancel
            && party == Party::Buyer
            && today > buyer_cancel_until(delivery))
}

/// Every transition `party` may make now.
pub fn allowed(
    party: Party,
    status: OrderStatus,
    delivery: NaiveDate,
    today: NaiveDate,
) -> Vec<AllowedTransition> {
    ACTIONS
        .into_iter()
        .filter(|a| permits(*a, party, status, delivery, today))
        .map(|a| AllowedTransition {
            action: a.name(),
            to: a.target(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn each_party_has_its_own_transitions() {
        let (d, today) = (date("2026-12-10"), date("2026-12-01"));
        let names = |p, s| -> Vec<&str> {
            allowed(p, s, d, today)
                .into_iter()
                .map(|t| t.action)
                .collect()
        };
        use OrderStatus::*;
        assert_eq!(
            names(Party::Supplier, Submitted),
            ["accept", "reject", "cancel"]
        );
        assert_eq!(names(Party::Buyer, Submitted), ["cancel"]);
        assert_eq!(names(Party::Supplier, Accepted), ["cancel", "deliver"]);
        assert_eq!(names(Party::Buyer, Delivered), ["receive", "dispute"]);
        assert!(names(Party::Supplier, Delivered).is_empty());
        for closed in [Rejected, Cancelled, Received, Disputed] {
            assert!(names(Party::Buyer, closed).is_empty());
            assert!(names(Party::Supplier, closed).is_empty());
        }
    }

    #[test]
    fn the_buyer_cancels_until_two_days_before_delivery() {
        let delivery = date("2026-12-10");
        let cancel = |today| {
            permits(
                Action::Cancel,
                Party::Buyer,
                OrderStatus::Accepted,
                delivery,
                date(today),
            )
        };
        assert!(cancel("2026-12-08"));
        assert!(!cancel("2026-12-09"));
        // the supplier still may, with a reason
        assert!(permits(
            Action::Cancel,
            Party::Supplier,
            OrderStatus::Accepted,
            delivery,
            date("2026-12-10")
        ));
        assert!(Action::Cancel.needs_reason(Party::Supplier));
        assert!(!Action::Cancel.needs_reason(Party::Buyer));
    }
}

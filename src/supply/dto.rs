//! Requests and responses of supply relationships.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::SupplyStatus;
use crate::orders::dto::OrganisationRef;

/// A distributor asks a farm of the platform for consent to carry it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "farm_id": "0193a6f2-7c1e-7d3a-9c51-2f6e8b1d4a10",
    "note": "Nous aimerions proposer vos carottes aux cantines de Brétigny."
}))]
pub struct SupplyRequest {
    /// A verified farm of the platform.
    pub farm_id: Uuid,
    /// For the farm (at most 2,000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Why a relationship is refused or ended (optional, at most 2,000 characters).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Nous ne livrons plus la légumerie."}))]
pub struct SupplyDecision {
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Relationship {
    pub id: Uuid,
    pub distributor: OrganisationRef,
    pub farm: OrganisationRef,
    pub status: SupplyStatus,
    pub note: String,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipList {
    pub items: Vec<Relationship>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RelationshipQuery {
    pub status: Option<SupplyStatus>,
}

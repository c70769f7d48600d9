//! Requests and responses of the organisation endpoints. Request types accept
//! only what the action may set (`deny_unknown_fields`): `status`, `kind`,
//! `siret` or an id sent where not allowed is a 422, never a silent change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::codes::{
    AreaKind, CanteenSector, EconomicModel, Label, LocalDefinition, ManagementType,
    OrganisationKind, OrganisationStatus, ProductFamily, ProductionType, Role,
};

/// WGS84 coordinates, used for distances.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[schema(example = 48.6085)]
    pub latitude: f64,
    #[schema(example = 2.3045)]
    pub longitude: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Certification {
    pub label: Label,
    /// Required for BIO.
    pub certificate_number: Option<String>,
    /// Certifying body (e.g. Ecocert FR-BIO-01); required for BIO.
    pub certifying_body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryArea {
    pub kind: AreaKind,
    /// INSEE code of a commune, SIREN of an EPCI, or code of a département.
    pub code: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FarmProfile {
    /// Labels the farm is certified for.
    #[serde(default)]
    pub certifications: Vec<Certification>,
    /// Product families it produces.
    #[serde(default)]
    pub productions: Vec<ProductFamily>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributorProfile {
    /// Where it delivers.
    #[serde(default)]
    pub delivery_area: Vec<DeliveryArea>,
}

/// The ma-cantine description of a canteen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "sectors": ["education_primaire"], "management_type": "direct", "production_type": "site",
    "economic_model": "public", "daily_meal_count": 320, "yearly_meal_count": 44800,
    "local_definition": "DEPARTEMENT"
}))]
pub struct CanteenProfile {
    /// One to three sectors.
    pub sectors: Vec<CanteenSector>,
    pub management_type: ManagementType,
    pub production_type: ProductionType,
    pub economic_model: EconomicModel,
    /// At least 3.
    pub daily_meal_count: i32,
    /// At least 420 and more than the daily count.
    pub yearly_meal_count: i32,
    /// SIRET of the central kitchen, for satellites.
    pub central_kitchen_siret: Option<String>,
    pub local_definition: LocalDefinition,
    /// Radius in km, only with `KM`.
    pub local_km: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityProfile {
    /// SIREN of the EPCI the authority speaks for.
    #[schema(example = "200057859")]
    pub epci: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "farm", "name": "Ferme de l'Envol", "siret": "20005785900015", "commune_insee": "91103",
    "address": "Base aérienne 217, 91220 Brétigny-sur-Orge",
    "location": {"latitude": 48.6085, "longitude": 2.3045},
    "description": "Maraîchage biologique sur l'ancienne base aérienne 217.",
    "contact_email": "contact@ferme-envol.fr", "contact_phone": "+33 1 60 00 00 00",
    "farm": {"certifications": [{"label": "BIO", "certificate_number": "FR-BIO-01-2024-0042", "certifying_body": "Ecocert FR-BIO-01"}],
             "productions": ["FRUITS_ET_LEGUMES"]}
}))]
pub struct CreateOrganisation {
    pub kind: OrganisationKind,
    pub name: String,
    /// 14 digits with a valid Luhn key.
    #[schema(pattern = r"^[0-9]{14}$", example = "20005785900015")]
    pub siret: String,
    /// INSEE code of the commune where it is (not its postcode).
    #[schema(pattern = r"^(?:[013-9][0-9]|2[1-9AB])[0-9]{3}$", example = "91103")]
    pub commune_insee: String,
    pub address: String,
    pub location: Option<Location>,
    #[serde(default)]
    pub description: String,
    /// Private: shown to members and administrators only.
    pub contact_email: Option<String>,
    /// Private: shown to members and administrators only.
    pub contact_phone: Option<String>,
    /// Only for `farm`.
    pub farm: Option<FarmProfile>,
    /// Only for `distributor`.
    pub distributor: Option<DistributorProfile>,
    /// Required for `canteen`.
    pub canteen: Option<CanteenProfile>,
    /// Required for `authority`.
    pub authority: Option<AuthorityProfile>,
}

/// The fields an owner may change; absent fields stay as they are. Kind,
/// SIRET, status and the authority's EPCI cannot be changed here.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "Légumes de saison, livrés le mardi.", "contact_phone": "+33 1 60 00 00 01"}))]
pub struct UpdateOrganisation {
    pub name: Option<String>,
    #[schema(pattern = r"^(?:[013-9][0-9]|2[1-9AB])[0-9]{3}$", example = "91103")]
    pub commune_insee: Option<String>,
    pub address: Option<String>,
    pub location: Option<Location>,
    pub description: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    /// Farms: replaces the productions.
    pub productions: Option<Vec<ProductFamily>>,
    /// Distributors: replaces the delivery area.
    pub delivery_area: Option<Vec<DeliveryArea>>,
    /// Canteens: replaces the ma-cantine profile.
    pub canteen: Option<CanteenProfile>,
}

/// Where an organisation is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Place {
    pub insee: String,
    pub commune: String,
    pub departement: String,
    pub region: String,
    /// SIREN of the commune's EPCI.
    pub epci: Option<String>,
}

/// Private details, for members and administrators only.
#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub name: String,
    pub siret: String,
    /// First 9 digits of the SIRET.
    pub siren: String,
    pub place: Place,
    pub address: String,
    pub location: Option<Location>,
    pub description: String,
    pub status: OrganisationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub farm: Option<FarmProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributor: Option<DistributorProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canteen: Option<CanteenProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthorityProfile>,
    /// Present for members and administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    pub kind: Option<OrganisationKind>,
    /// SIREN of an EPCI: organisations located in it.
    #[param(example = "200057859")]
    pub epci: Option<String>,
    /// INSEE code of a commune.
    pub commune: Option<String>,
    /// Code of a département.
    pub departement: Option<String>,
    /// Farms certified for this label.
    pub label: Option<Label>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "paul@ferme-envol.fr", "role": "member"}))]
pub struct InviteMember {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub role: Role,
    /// Give it to the invited person; they accept it at `/invitations/accept`
    /// once logged in with this email. Shown once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "verified"}))]
pub struct ChangeStatus {
    pub status: OrganisationStatus,
}

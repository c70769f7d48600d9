//! What the geography endpoints return.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// A région or a département: INSEE code and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Area {
    #[schema(
        pattern = r"^([0-9]{5}|2[AB][0-9]{3}|[0-9]{9}|[0-9]{2,3}|2[AB])$",
        example = "91"
    )]
    pub code: String,
    #[schema(example = "Essonne")]
    pub name: String,
}

/// An EPCI (intercommunality) as referenced from a commune.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpciRef {
    /// SIREN of the EPCI.
    #[schema(pattern = r"^[0-9]{9}$", example = "200057859")]
    pub siren: String,
    #[schema(example = "CA Coeur d'Essonne Agglomération")]
    pub name: String,
}

/// A current French commune.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "insee": "91103",
    "name": "Brétigny-sur-Orge",
    "population": 26658,
    "departement": {"code": "91", "name": "Essonne"},
    "region": {"code": "11", "name": "Île-de-France"},
    "epci": {"siren": "200057859", "name": "CA Coeur d'Essonne Agglomération"}
}))]
pub struct Commune {
    /// INSEE code (not the postcode).
    pub insee: String,
    pub name: String,
    /// Municipal population; absent for a few uninhabited territories.
    pub population: Option<i32>,
    pub departement: Area,
    pub region: Area,
    /// The EPCI the commune belongs to; a few islands and overseas
    /// collectivities belong to none.
    pub epci: Option<EpciRef>,
}

/// An EPCI with its member communes.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "siren": "200057859",
    "name": "CA Coeur d'Essonne Agglomération",
    "nature": "CA",
    "population": 208019,
    "member_count": 1,
    "members": [{"insee": "91103", "name": "Brétigny-sur-Orge", "population": 26658, "departement": "91"}]
}))]
pub struct Epci {
    pub siren: String,
    pub name: String,
    /// Legal form: `CC` communauté de communes, `CA` d'agglomération, `CU`
    /// urbaine, `METRO` métropole, `MET69` Métropole de Lyon.
    pub nature: String,
    /// Official municipal population of the EPCI.
    pub population: Option<i32>,
    pub member_count: usize,
    /// Member communes, by INSEE code.
    pub members: Vec<EpciMember>,
}

#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct EpciMember {
    pub insee: String,
    pub name: String,
    pub population: Option<i32>,
    /// Département code of the commune.
    pub departement: String,
}

/// One row of the commune query, before nesting.
#[derive(Queryable)]
pub struct CommuneRow {
    pub insee: String,
    pub name: String,
    pub population: Option<i32>,
    pub departement_code: String,
    pub departement_name: String,
    pub region_code: String,
    pub region_name: String,
    pub epci_siren: Option<String>,
    pub epci_name: Option<String>,
}

impl From<CommuneRow> for Commune {
    fn from(row: CommuneRow) -> Self {
        Self {
            insee: row.insee,
            name: row.name,
            population: row.population,
            departement: Area {
                code: row.departement_code,
                name: row.departement_name,
            },
            region: Area {
                code: row.region_code,
                name: row.region_name,
            },
            epci: row
                .epci_siren
                .zip(row.epci_name)
                .map(|(siren, name)| EpciRef { siren, name }),
        }
    }
}

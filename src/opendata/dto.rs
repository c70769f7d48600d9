//! Requests and responses of the open data endpoints.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::disclosure::Thresholds;
use super::package::File;
use super::release::Disclosure;

/// What an authority publishes: whole months, already over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRelease {
    /// First month, `YYYY-MM`.
    #[schema(example = "2026-01", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub from: String,
    /// Last month, `YYYY-MM`, before the current month (Paris time).
    #[schema(example = "2026-06", pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub to: String,
    /// The statistical secrecy's parameters; the defaults (3 units, 85 %,
    /// k = 5) when absent.
    pub thresholds: Option<Thresholds>,
    /// Required to protect less than the defaults; written into the
    /// package's metadata.
    #[serde(default)]
    pub allow_below_defaults: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The files of a release, relative to the API's root.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseLinks {
    #[schema(
        example = "/api/v1/opendata/releases/0193a5c4-8a1e-7cc0-b3f5-5ad0d2b1e001/datapackage.json"
    )]
    pub datapackage: String,
    /// `supply_stats.csv`, `supply_stats.json`, `transactions.csv`,
    /// `transactions.json`, `payment_delays.csv`, `payment_delays.json`.
    pub files: Vec<String>,
}

/// A published release: frozen, the same bytes on every download.
#[derive(Debug, Serialize, ToSchema)]
pub struct Release {
    pub id: Uuid,
    /// SIREN of the EPCI.
    #[schema(pattern = r"^[0-9]{9}$", example = "200057859")]
    pub epci: String,
    #[schema(example = "CA Coeur d'Essonne Agglomération")]
    pub epci_name: String,
    /// 1, 2, … in publishing order for the EPCI.
    pub version: i32,
    pub period: Period,
    pub created_at: DateTime<Utc>,
    pub disclosure: Disclosure,
    pub links: ReleaseLinks,
}

impl Release {
    pub fn new(row: super::queries::ReleaseRow, epci_name: String, disclosure: Disclosure) -> Self {
        let base = format!("/api/v1/opendata/releases/{}", row.id);
        Self {
            links: ReleaseLinks {
                datapackage: format!("{base}/datapackage.json"),
                files: File::ALL
                    .iter()
                    .map(|f| format!("{base}/{}", f.name()))
                    .collect(),
            },
            id: row.id,
            epci: row.epci_siren,
            epci_name,
            version: row.version,
            period: Period {
                from: row.period_from,
                to: row.period_to,
            },
            created_at: row.created_at,
            disclosure,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReleasesQuery {
    /// Only the releases of this EPCI (SIREN).
    #[param(example = "200057859", pattern = r"^\d{9}$")]
    pub epci: Option<String>,
    /// At most this many, newest first (1–200, 50 by default).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

/// One page of releases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasePage {
    pub items: Vec<Release>,
    /// Pass as `cursor` for the next page; `null` on the last.
    #[schema(required = true)]
    pub next_cursor: Option<Uuid>,
}

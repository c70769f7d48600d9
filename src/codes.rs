//! The reference enumerations of the domain (shared/docs/domain.md §3), spelt
//! exactly as ma-cantine spells them, so data flows there without translation.
//! Stored as text with CHECK constraints; `as_str` and `FromStr` map to SQL.

/// Defines a string enumeration: serde and OpenAPI use the given codes.
/// The OpenAPI schema is written here rather than derived, because the
/// derive does not see `serde(rename)` values that come through a macro.
macro_rules! code_enum {
    ($(#[doc = $doc:expr])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
                 serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const CODES: &'static [&'static str] = &[$($code),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let description: &[&str] = &[$($doc),*];
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(description.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")))
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(value: &str) -> Result<Self, String> {
                match value {
                    $($code => Ok($name::$variant),)+
                    other => Err(unknown_code(stringify!($name), other, &[$($code),+])),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Says what a code should have been: the allowed ones, and the one meant
/// when only the case differs (`bio` for `BIO`).
fn unknown_code(list: &str, value: &str, codes: &[&str]) -> String {
    let allowed = codes.join(", ");
    match codes.iter().find(|code| code.eq_ignore_ascii_case(value)) {
        Some(code) => {
            format!("unknown {list} `{value}`: did you mean `{code}`? (allowed: {allowed})")
        }
        None => format!("unknown {list} `{value}`; allowed: {allowed}"),
    }
}

code_enum!(
    /// What a public buyer's Chorus Pro record requires on its invoices: a
    /// service code (BT-10), an engagement number (BT-13), both, or either.
    ChorusRequirement {
        Nothing = "none",
        ServiceCode = "service_code",
        EngagementNumber = "engagement_number",
        Both = "both",
        Either = "either",
    }
);

code_enum!(
    /// Where an invoice's payment stands.
    PaymentStatus {
        Issued = "issued",
        PartlyPaid = "partly_paid",
        Paid = "paid",
    }
);

code_enum!(
    /// What a supplier's billing mandate lets the platform issue in its name.
    MandateScope {
        Invoices = "invoices",
        InvoicesAndCreditNotes = "invoices_and_credit_notes",
    }
);

code_enum!(
    /// Kind of organisation.
    OrganisationKind {
        Farm = "farm",
        Distributor = "distributor",
        Canteen = "canteen",
        Authority = "authority",
    }
);

code_enum!(
    /// Verification status: only verified organisations sell, buy or read statistics.
    OrganisationStatus {
        Pending = "pending",
        Verified = "verified",
        Suspended = "suspended",
    }
);

code_enum!(
    /// A member's role in an organisation.
    Role {
        Owner = "owner",
        Member = "member",
    }
);

code_enum!(
    /// ma-cantine's product family (`famille_produits`).
    ProductFamily {
        ViandesVolailles = "VIANDES_VOLAILLES",
        Charcuterie = "CHARCUTERIE",
        ProduitsDeLaMer = "PRODUITS_DE_LA_MER",
        FruitsEtLegumes = "FRUITS_ET_LEGUMES",
        ProduitsLaitiers = "PRODUITS_LAITIERS",
        Boulangerie = "BOULANGERIE",
        Boissons = "BOISSONS",
        Autres = "AUTRES",
    }
);

code_enum!(
    /// EGalim labels (`caracteristiques`), in ma-cantine's precedence order.
    Label {
        Bio = "BIO",
        LabelRouge = "LABEL_ROUGE",
        Aocaop = "AOCAOP",
        Igp = "IGP",
        Stg = "STG",
        Hve = "HVE",
        PecheDurable = "PECHE_DURABLE",
        Rup = "RUP",
        Fermier = "FERMIER",
        CommerceEquitable = "COMMERCE_EQUITABLE",
        Externalites = "EXTERNALITES",
        Performance = "PERFORMANCE",
    }
);

code_enum!(
    /// ma-cantine canteen sector.
    CanteenSector {
        AdministrationPrison = "administration_prison",
        AdministrationAdministratif = "administration_administratif",
        AdministrationArmee = "administration_armee",
        AdministrationEtablissementPublic = "administration_etablissement_public",
        AdministrationInterAdministratif = "administration_inter_administratif",
        AdministrationAdministratifDesCollectivites = "administration_administratif_des_collectivites",
        EntrepriseEntreprise = "entreprise_entreprise",
        EntrepriseInterEntreprise = "entreprise_inter_entreprise",
        EducationPrimaire = "education_primaire",
        EducationSecondaireCollege = "education_secondaire_college",
        EducationSecondaireLycee = "education_secondaire_lycee",
        EducationEnseignementAgricole = "education_enseignement_agricole",
        EducationSuperieurUniversitaire = "education_superieur_universitaire",
        EducationAutre = "education_autre",
        SanteHopital = "sante_hopital",
        SanteClinique = "sante_clinique",
        SanteAutre = "sante_autre",
        SocialCreche = "social_creche",
        SocialIme = "social_ime",
        SocialEsat = "social_esat",
        SocialEhpad = "social_ehpad",
        SocialPjj = "social_pjj",
        SocialAutre = "social_autre",
        LoisirCentreVacances = "loisir_centre_vacances",
        LoisirAutre = "loisir_autre",
        AutresAutre = "autres_autre",
    }
);

code_enum!(
    /// ma-cantine `management_type`.
    ManagementType {
        Direct = "direct",
        Conceded = "conceded",
    }
);

code_enum!(
    /// ma-cantine `production_type`.
    ProductionType {
        Groupe = "groupe",
        Central = "central",
        CentralServing = "central_serving",
        Site = "site",
        SiteCookedElsewhere = "site_cooked_elsewhere",
    }
);

code_enum!(
    /// ma-cantine `economic_model`.
    EconomicModel {
        Public = "public",
        Private = "private",
    }
);

code_enum!(
    /// A canteen's declared definition of "local" (`definition_local`).
    LocalDefinition {
        Pat = "PAT",
        Commune = "COMMUNE",
        Departement = "DEPARTEMENT",
        Region = "REGION",
        Km = "KM",
    }
);

code_enum!(
    /// Kind of area a distributor delivers to.
    AreaKind {
        Commune = "commune",
        Epci = "epci",
        Departement = "departement",
    }
);

/// Parses a code read from the database, where a CHECK constraint keeps it valid.
pub fn from_db<T: std::str::FromStr<Err = String>>(
    value: &str,
) -> Result<T, crate::error::ApiError> {
    value.parse().map_err(|e: String| {
        crate::error::ApiError::Internal(anyhow::anyhow!("database holds {e}"))
    })
}

code_enum!(
    /// Where a distributor's request to carry a farm stands.
    SupplyStatus {
        Requested = "requested",
        Accepted = "accepted",
        Refused = "refused",
        Ended = "ended",
    }
);

code_enum!(
    /// Where a product comes from (`origine`).
    Origin {
        France = "FRANCE",
        Europe = "EUROPE",
    }
);

code_enum!(
    /// Unit of sale: UN/ECE Rec. 20 units, or a package (Rec. 21) whose net
    /// content is given with the offer.
    Unit {
        Kilogram = "KGM",
        Gram = "GRM",
        Litre = "LTR",
        Piece = "H87",
        Crate = "XCR",
        Box = "XBX",
        Bag = "XBG",
        Package = "XPK",
    }
);

impl Unit {
    pub fn is_package(self) -> bool {
        matches!(self, Unit::Crate | Unit::Box | Unit::Bag | Unit::Package)
    }
}

code_enum!(
    /// Whether an offer can be ordered.
    OfferStatus {
        Active = "active",
        Paused = "paused",
        Archived = "archived",
    }
);

code_enum!(
    /// Where an order stands in its lifecycle.
    OrderStatus {
        Submitted = "submitted",
        Accepted = "accepted",
        Rejected = "rejected",
        Cancelled = "cancelled",
        Delivered = "delivered",
        Received = "received",
        Disputed = "disputed",
    }
);

impl Label {
    /// ma-cantine's applicability rules: which families may carry the label.
    pub fn applies_to(self, family: ProductFamily) -> bool {
        use ProductFamily::*;
        match self {
            Label::PecheDurable => family == ProduitsDeLaMer,
            Label::Fermier => matches!(family, ViandesVolailles | Charcuterie | ProduitsLaitiers),
            Label::LabelRouge => family != Boissons,
            _ => true,
        }
    }
}

code_enum!(
    /// How a consultation puts suppliers in competition (shared/docs/purchasing.md §1.3):
    /// `gre_a_gre` (no publicity, need under 60,000 € HT), `mapa` (adapted procedure),
    /// `accord_cadre` (framework agreement executed by purchase orders, at most 4 years,
    /// with a maximum amount per lot).
    Procedure {
        GreAGre = "gre_a_gre",
        Mapa = "mapa",
        AccordCadre = "accord_cadre",
    }
);

code_enum!(
    /// Where a consultation stands. `closed` comes at the deadline, by the
    /// server's clock, whether or not anything has run since.
    ConsultationStatus {
        Draft = "draft",
        Published = "published",
        Closed = "closed",
        Awarded = "awarded",
        PartlyAwarded = "partly_awarded",
        Unsuccessful = "unsuccessful",
        Cancelled = "cancelled",
    }
);

code_enum!(
    /// Where a lot of a consultation stands.
    LotStatus {
        Open = "open",
        Awarded = "awarded",
        Unsuccessful = "unsuccessful",
    }
);

code_enum!(
    /// An award criterion. `environmental` takes the environmental
    /// characteristics of the offer into account; `direct_supply` rewards at
    /// most one intermediary (R2152-7). Geographic preference is unlawful and
    /// has no kind.
    CriterionKind {
        Price = "price",
        Environmental = "environmental",
        DirectSupply = "direct_supply",
        Quality = "quality",
        Freshness = "freshness",
        Other = "other",
    }
);

code_enum!(
    /// Where a contract stands: `proposed` by one party until the other
    /// accepts (`active`) or declines it; an active contract is `expired`
    /// after its last day or `terminated` early by a party, with a reason.
    ContractStatus {
        Proposed = "proposed",
        Active = "active",
        Declined = "declined",
        Expired = "expired",
        Terminated = "terminated",
    }
);

code_enum!(
    /// Where an order line's unit price comes from: the offer's public
    /// price, or the buyer's contract.
    PriceSource {
        Catalog = "catalog",
        Contract = "contract",
    }
);

code_enum!(
    /// A cell's EGalim label group in the territory's statistics and open
    /// data: `bio`, `siqo`, `other` (other EGalim labels, externalities
    /// included), `none`.
    LabelGroup {
        Bio = "bio",
        Siqo = "siqo",
        Other = "other",
        Unlabelled = "none",
    }
);

code_enum!(
    /// Where the producing farm is, seen from the authority's EPCI: in it,
    /// elsewhere in its département, in its region, elsewhere in France, or
    /// in Europe.
    OriginClass {
        Epci = "epci",
        Departement = "departement",
        Region = "region",
        France = "france",
        Europe = "europe",
    }
);

code_enum!(
    /// A target: `egalim` (50 % of purchases EGalim), `bio` (20 % organic),
    /// `meat_and_fish` (60 % of meat and fish purchases EGalim), and an
    /// authority's `organic_or_local` (50 % organic or local).
    TargetName {
        Egalim = "egalim",
        Bio = "bio",
        MeatAndFish = "meat_and_fish",
        OrganicOrLocal = "organic_or_local",
    }
);

code_enum!(
    /// A resource of an open data release: the supply statistics, the
    /// transactions, the payment delays (each as `.csv` and `.json`).
    ReleaseResource {
        SupplyStats = "supply_stats",
        Transactions = "transactions",
        PaymentDelays = "payment_delays",
    }
);

code_enum!(
    /// What an event of the integration feed reports; its `data` depends on
    /// it (`FeedEvent`).
    FeedEventType {
        OrderSubmitted = "order.submitted",
        OrderAccepted = "order.accepted",
        OrderRejected = "order.rejected",
        OrderCancelled = "order.cancelled",
        OrderDelivered = "order.delivered",
        OrderReceived = "order.received",
        OrderDisputed = "order.disputed",
        SupplyRequested = "supply.requested",
        SupplyAccepted = "supply.accepted",
        SupplyRefused = "supply.refused",
        SupplyEnded = "supply.ended",
        OfferPaused = "offer.paused",
        OfferLabelsCorrected = "offer.labels_corrected",
        ConsultationDrafted = "consultation.drafted",
        ConsultationPublished = "consultation.published",
        ConsultationAlert = "consultation.alert",
        ConsultationAnswerReceived = "consultation.answer_received",
        ConsultationClosed = "consultation.closed",
        ConsultationCancelled = "consultation.cancelled",
        ConsultationLotAwarded = "consultation.lot_awarded",
        ConsultationLotUnsuccessful = "consultation.lot_unsuccessful",
        ConsultationOutcome = "consultation.outcome",
        ConsultationAwarded = "consultation.awarded",
        ConsultationPartlyAwarded = "consultation.partly_awarded",
        ConsultationUnsuccessful = "consultation.unsuccessful",
        ContractCreated = "contract.created",
        ContractProposed = "contract.proposed",
        ContractActive = "contract.active",
        ContractDeclined = "contract.declined",
        ContractExpired = "contract.expired",
        ContractTerminated = "contract.terminated",
        InvoiceIssued = "invoice.issued",
        InvoiceCredited = "invoice.credited",
        InvoicePartlyPaid = "invoice.partly_paid",
        InvoicePaid = "invoice.paid",
        InvoiceOverdue = "invoice.overdue",
        StandingOrderPlaced = "standing_order.placed",
        StandingOrderFailed = "standing_order.failed",
        StandingOrderMissed = "standing_order.missed",
    }
);

code_enum!(
    /// Where a standing order stands: `active` places its days, `paused`
    /// skips them, `ended` is final.
    StandingOrderStatus {
        Active = "active",
        Paused = "paused",
        Ended = "ended",
    }
);

code_enum!(
    /// A VAT rate, in per cent, written as here: 5.5 (food), 10 (catering
    /// services), 20 (confectionery, chocolate, margarine, alcohol).
    VatRate {
        Food = "5.5",
        Catering = "10",
        Standard = "20",
    }
);

//! The demonstration's organisations: Cœur d'Essonne Agglomération, its
//! canteens placed by population, farms in and around it, distributors,
//! and an owner account for each.

use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Rng;
use super::catalogue::{self, FarmKind, Product};
use crate::accounts::queries::{CanteenRow, OrganisationRow};
use crate::catalog::queries::OfferRow;
use crate::codes::{Label, ProductFamily};
use crate::geo::search::fold;
use crate::schema::{communes, delivery_areas, farm_certifications, memberships, users};

pub const EPCI: &str = "200057859";
/// A SIRET of the agglomeration's SIREN.
const AUTHORITY_SIRET: &str = "20005785900015";

/// A seller as the order generator needs it.
pub struct Seller {
    pub id: Uuid,
    pub owner: Uuid,
    pub organic: bool,
    pub local: bool,
    /// A wholesaler of produce from anywhere: what most canteens buy.
    pub wholesale: bool,
    pub weekdays: Vec<i16>,
    pub offers: Vec<(OfferRow, u32)>,
}

/// A canteen as the order generator needs it.
pub struct Buyer {
    pub id: Uuid,
    pub owner: Uuid,
    pub daily_meals: i32,
    pub school: bool,
    /// Buys organic and local by choice (reaches EGalim targets).
    pub engaged: bool,
}

pub struct Territory {
    pub sellers: Vec<Seller>,
    pub buyers: Vec<Buyer>,
}

/// The `n`-th valid SIRET of a series (Luhn on the SIREN and the SIRET).
fn siret(series: u64, n: u64) -> String {
    (0..1000)
        .map(|k| format!("{:09}{:05}", series * 1_000_000 + n * 10 + k / 100, k % 100))
        .find(|s| crate::ids::siret_problem(s).is_none())
        .expect("a valid SIRET among a thousand candidates")
}

fn slug(name: &str) -> String {
    let folded = fold(name);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

/// The commune's population, name and département, by INSEE code.
type Place = (String, String, String, Option<i32>);

async fn places(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Place>> {
    communes::table
        .filter(communes::departement_code.eq_any(["91", "77", "78", "28", "45"]))
        .select((
            communes::insee,
            communes::name,
            communes::departement_code,
            communes::population,
        ))
        .order(communes::insee)
        .load(conn)
        .await
}

pub struct Builder {
    pub organisations: Vec<OrganisationRow>,
    pub canteens: Vec<CanteenRow>,
    pub certifications: Vec<(Uuid, &'static str)>,
    pub areas: Vec<(Uuid, &'static str, String)>,
    pub users: Vec<(Uuid, String, String)>,
    pub memberships: Vec<(Uuid, Uuid)>,
    pub offers: Vec<OfferRow>,
    /// (distributor, its owner, farm, the farm's owner): accepted supply
    /// relationships, each farm's consent to be carried.
    pub supply: Vec<(Uuid, Uuid, Uuid, Uuid)>,
    user_count: u64,
}

impl Builder {
    fn organisation(
        &mut self,
        kind: &str,
        name: &str,
        siret: String,
        commune: &str,
        description: &str,
    ) -> (Uuid, Uuid) {
        let id = Uuid::from_u128(
            0x5e5a_0000_0000_7000_8000_0000_0000_0000 | (self.organisations.len() as u128 + 1),
        );
        let email = format!("contact@{}.demo", slug(name));
        self.organisations.push(OrganisationRow {
            id,
            kind: kind.to_owned(),
            name: name.to_owned(),
            siret,
            commune_insee: commune.to_owned(),
            address: format!("{name}, {commune}"),
            latitude: None,
            longitude: None,
            description: description.to_owned(),
            contact_email: Some(email.clone()),
            contact_phone: None,
            status: "verified".to_owned(),
            productions: Vec::new(),
            authority_epci: None,
        });
        let owner = self.user(email, name);
        self.memberships.push((id, owner));
        (id, owner)
    }

    fn user(&mut self, email: String, name: &str) -> Uuid {
        self.user_count += 1;
        let id = Uuid::from_u128(
            0x5e5a_0000_0000_7000_8001_0000_0000_0000 | u128::from(self.user_count),
        );
        self.users
            .push((id, email, name.chars().take(100).collect()));
        id
    }
}

const LIEUX: [&str; 24] = [
    "des Noues",
    "du Moulin",
    "de la Butte",
    "des Sablons",
    "du Bois Joli",
    "de la Croix Blanche",
    "des Prés",
    "du Plateau",
    "de la Source",
    "des Tilleuls",
    "de la Motte",
    "du Petit Paris",
    "des Carrières",
    "de Launay",
    "du Mesnil",
    "de la Roche",
    "des Graviers",
    "du Marais",
    "des Vignes",
    "de Montaubert",
    "du Gué",
    "de Bel-Air",
    "des Bordes",
    "de la Fontaine",
];
const PREFIXES: [&str; 5] = ["Ferme", "GAEC", "EARL", "Les Jardins", "Domaine"];
const NAMESAKES: [&str; 20] = [
    "Jean Macé",
    "Jules Ferry",
    "Victor Hugo",
    "Jean Jaurès",
    "Paul Langevin",
    "Louise Michel",
    "Louis Pasteur",
    "Jacques Prévert",
    "Marie Curie",
    "Anatole France",
    "Paul Bert",
    "Condorcet",
    "Jean Moulin",
    "Saint-Exupéry",
    "George Sand",
    "Camille Claudel",
    "Albert Camus",
    "Simone Veil",
    "Aimé Césaire",
    "Pablo Picasso",
];
const EHPAD: [&str; 6] = [
    "Les Tilleuls",
    "Les Charmilles",
    "Le Parc",
    "Les Jardins d'Automne",
    "La Roseraie",
    "Le Clos Fleuri",
];

/// The 21 communes of the agglomeration and their population.
const CDEA: [(&str, i32); 21] = [
    ("91021", 11698),
    ("91041", 1052),
    ("91103", 26658),
    ("91105", 9157),
    ("91115", 3788),
    ("91156", 2204),
    ("91207", 7166),
    ("91235", 13721),
    ("91292", 923),
    ("91333", 4271),
    ("91347", 6482),
    ("91376", 5708),
    ("91434", 21667),
    ("91457", 4268),
    ("91461", 5455),
    ("91494", 4154),
    ("91549", 35438),
    ("91552", 11623),
    ("91570", 21776),
    ("91667", 7332),
    ("91685", 4545),
];

/// The season of `product` around `today`: this one if it runs now, else
/// the next one.
fn window(product: &Product, today: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let Some((from, to)) = product.season else {
        return (None, None);
    };
    let year = today.year();
    let start_this = NaiveDate::from_ymd_opt(year, from, 1).unwrap_or(today);
    // The season containing today may have started last year.
    let mut start = if catalogue::in_season(product.season, today.month()) && start_this > today {
        start_this - Months::new(12)
    } else if start_this < today && !catalogue::in_season(product.season, today.month()) {
        start_this + Months::new(12)
    } else {
        start_this
    };
    if start > today + Months::new(12) {
        start = start - Months::new(12);
    }
    let months = if to >= from {
        to - from
    } else {
        to + 12 - from
    };
    let end = start + Months::new(months + 1) - chrono::Days::new(1);
    (Some(start), Some(end))
}

/// A seller's terms for one offer: price, delivery days, and the EPCIs and
/// départements it delivers to.
struct Terms {
    price_cents: i64,
    weekdays: Vec<i16>,
    area: (Vec<String>, Vec<String>),
}

fn offer_row(
    supplier: Uuid,
    producer: (Option<Uuid>, &str, &str),
    product: &Product,
    labels: Vec<String>,
    terms: Terms,
    today: NaiveDate,
    n: usize,
) -> OfferRow {
    let Terms {
        price_cents,
        weekdays,
        area,
    } = terms;
    let (available_from, available_until) = window(product, today);
    let stocked = matches!(
        product.family,
        "FRUITS_ET_LEGUMES" | "VIANDES_VOLAILLES" | "CHARCUTERIE"
    );
    let lead = match product.family {
        "BOULANGERIE" => 1,
        "VIANDES_VOLAILLES" | "CHARCUTERIE" | "PRODUITS_DE_LA_MER" => 3,
        _ => 2,
    };
    let description = format!("{} — {}", product.name, producer.1);
    OfferRow {
        id: Uuid::from_u128(0x5e5a_0000_0000_7000_8002_0000_0000_0000 | n as u128),
        supplier_id: supplier,
        producer_id: producer.0,
        producer_name: producer.1.to_owned(),
        producer_commune_insee: producer.2.to_owned(),
        name: product.name.to_owned(),
        description: description.clone(),
        search_text: fold(&format!("{} {description}", product.name)),
        family: product.family.to_owned(),
        labels,
        origin: "FRANCE".to_owned(),
        unit: product.unit.to_owned(),
        package_net_quantity: product
            .package
            .map(|(q, _)| q.parse().unwrap_or(Decimal::ONE)),
        package_net_unit: product.package.map(|(_, u)| u.to_owned()),
        price_cents,
        vat_rate: product.vat_rate.parse().unwrap_or(Decimal::ZERO),
        stock_available: stocked.then(|| Decimal::from(product.usual * 200)),
        stock_reserved: Decimal::ZERO,
        min_order_quantity: product.min.parse().unwrap_or(Decimal::ONE),
        order_step: product.step.parse().unwrap_or(Decimal::ONE),
        available_from,
        available_until,
        lead_time_days: lead,
        delivery_weekdays: weekdays,
        area_communes: Vec::new(),
        area_epcis: area.0,
        area_departements: area.1,
        status: "active".to_owned(),
    }
}

/// Labels of a farm's certifications that apply to a product's family.
fn applicable(certified: &[&'static str], family: &str) -> Vec<String> {
    let family: ProductFamily = family.parse().unwrap_or(ProductFamily::Autres);
    certified
        .iter()
        .filter(|l| l.parse::<Label>().is_ok_and(|l| l.applies_to(family)))
        .map(|l| (*l).to_owned())
        .collect()
}

/// Builds the whole territory in memory, deterministically from `rng`.
pub async fn build(
    conn: &mut AsyncPgConnection,
    rng: &mut Rng,
    today: NaiveDate,
) -> QueryResult<(Builder, Territory)> {
    let all_places = places(conn).await?;
    let mut b = Builder {
        organisations: Vec::new(),
        canteens: Vec::new(),
        certifications: Vec::new(),
        areas: Vec::new(),
        users: Vec::new(),
        memberships: Vec::new(),
        offers: Vec::new(),
        supply: Vec::new(),
        user_count: 0,
    };
    let name_of = |insee: &str| {
        all_places
            .iter()
            .find(|p| p.0 == insee)
            .map_or_else(|| insee.to_owned(), |p| p.1.clone())
    };

    // The authority.
    let (authority, _) = b.organisation(
        "authority",
        "Cœur d'Essonne Agglomération",
        AUTHORITY_SIRET.to_owned(),
        "91549",
        "Communauté d'agglomération de 21 communes : objectif 50 % de bio et local en restauration collective.",
    );
    b.organisations
        .last_mut()
        .expect("just pushed")
        .authority_epci = Some(EPCI.to_owned());
    let agent = b.user("pat@coeuressonne.demo".to_owned(), "Chargée de mission PAT");
    b.memberships.push((authority, agent));

    // Farms: in the agglomeration's rural communes first, then around it.
    let rural_cdea: Vec<&str> = CDEA
        .iter()
        .filter(|(_, pop)| *pop < 10_000)
        .map(|(i, _)| *i)
        .collect();
    let mut around: Vec<&Place> = all_places
        .iter()
        .filter(|p| p.3.unwrap_or(0) < 3000 && !CDEA.iter().any(|c| c.0 == p.0))
        .collect();
    let mut kinds: Vec<&FarmKind> = catalogue::FARM_MIX
        .iter()
        .flat_map(|(k, n)| std::iter::repeat_n(*k, *n))
        .collect();
    // Market gardens and orchards near the canteens, cereals in the Beauce.
    kinds.sort_by_key(|k| {
        if k.label == "céréales et pain" {
            1
        } else {
            0
        }
    });
    let mut sellers = Vec::new();
    let mut farm_index = 0usize;
    let deps = ["91", "77", "78", "28", "45"];
    for (i, kind) in kinds.iter().enumerate() {
        let (name, commune) = if i == 0 {
            ("Ferme de l'Envol".to_owned(), "91103".to_owned())
        } else {
            let commune = if i < 18 {
                rural_cdea[i % rural_cdea.len()].to_owned()
            } else {
                let dep = if kind.label == "céréales et pain" {
                    ["28", "45"][i % 2]
                } else if kind.label == "brie" {
                    "77"
                } else {
                    deps[i % deps.len()]
                };
                let candidates: Vec<usize> =
                    (0..around.len()).filter(|j| around[*j].2 == dep).collect();
                let pick = candidates[rng.below(candidates.len() as u64) as usize];
                around.remove(pick).0.clone()
            };
            let lieu = LIEUX[(i * 7) % LIEUX.len()];
            let prefix = PREFIXES[i % PREFIXES.len()];
            (format!("{prefix} {lieu}"), commune)
        };
        let name = if b.organisations.iter().any(|o| o.name == name) {
            format!("{name} ({})", name_of(&commune))
        } else {
            name
        };
        farm_index += 1;
        let organic = i == 0 || rng.chance(0.4);
        let description = format!(
            "{} à {}{}",
            kind.label,
            name_of(&commune),
            if organic {
                ", en agriculture biologique"
            } else {
                ""
            }
        );
        let (id, owner) = b.organisation(
            "farm",
            &name,
            siret(31, farm_index as u64),
            &commune,
            &description,
        );
        b.organisations.last_mut().expect("just pushed").productions =
            kind.productions.iter().map(|s| (*s).to_owned()).collect();
        let mut certified: Vec<&'static str> = Vec::new();
        if organic {
            certified.push("BIO");
        } else if rng.chance(0.2) {
            certified.push("HVE");
        }
        for extra in kind.extra_labels {
            if rng.chance(if *extra == "AOCAOP" { 1.0 } else { 0.5 }) {
                certified.push(extra);
            }
        }
        for label in &certified {
            b.certifications.push((id, label));
        }
        let dep = commune[..2].to_owned();
        b.areas.push((id, "epci", EPCI.to_owned()));
        b.areas.push((id, "departement", dep.clone()));
        let weekdays: Vec<i16> = if rng.chance(0.7) {
            vec![2, 4]
        } else {
            vec![1, 2, 3, 4, 5]
        };
        let mut offers = Vec::new();
        for product in kind.products {
            if rng.chance(0.15) && !offers.is_empty() {
                continue; // not every farm of a kind grows everything
            }
            let price = product.price_cents * (90 + rng.below(25) as i64) / 100;
            let row = offer_row(
                id,
                (Some(id), &name, &commune),
                product,
                applicable(&certified, product.family),
                Terms {
                    price_cents: price,
                    weekdays: weekdays.clone(),
                    area: (vec![EPCI.to_owned()], vec![dep.clone()]),
                },
                today,
                b.offers.len() + 1,
            );
            b.offers.push(row.clone());
            offers.push((row, product.usual));
        }
        sellers.push(Seller {
            wholesale: false,
            id,
            owner,
            organic,
            local: commune.starts_with("91"),
            weekdays,
            offers,
        });
    }

    distributors(&mut b, &mut sellers, rng, today);
    let buyers = canteens(&mut b, rng, &name_of);
    b.user("admin@sesame.demo".to_owned(), "Administrateur Sésame");
    neighbour_authority(&mut b);
    Ok((b, Territory { sellers, buyers }))
}

/// A second authority, the neighbouring EPCI, with no canteen on Sésame yet:
/// its agent must see nothing of Cœur d'Essonne's (and the fuzzer checks it).
fn neighbour_authority(b: &mut Builder) {
    let (authority, _) = b.organisation(
        "authority",
        "Communauté de communes du Val d'Essonne",
        "24910054600012".to_owned(),
        "91045",
        "Communauté de communes voisine, qui prépare son projet alimentaire territorial.",
    );
    b.organisations
        .last_mut()
        .expect("just pushed")
        .authority_epci = Some("249100546".to_owned());
    let agent = b.user("pat@val-essonne.demo".to_owned(), "Chargé de mission PAT");
    b.memberships.push((authority, agent));
}

fn distributors(b: &mut Builder, sellers: &mut Vec<Seller>, rng: &mut Rng, today: NaiveDate) {
    // (name, commune, description, which farms it carries, margin %)
    let farms: Vec<(Uuid, bool, bool, String, String)> = sellers
        .iter()
        .map(|s| {
            let org = b.organisations.iter().find(|o| o.id == s.id).expect("farm");
            (
                s.id,
                s.organic,
                s.local,
                org.name.clone(),
                org.commune_insee.clone(),
            )
        })
        .collect();
    let plan: [(&str, &str, &str, u8); 3] = [
        (
            "Légumerie du Cœur d'Essonne",
            "91103",
            "Légumerie : lave, épluche et coupe les légumes des fermes du territoire.",
            0,
        ),
        (
            "Coop Bio Île-de-France",
            "91345",
            "Coopérative de producteurs biologiques franciliens.",
            1,
        ),
        (
            "Les Paniers de Beauce",
            "28085",
            "Plateforme de producteurs de céréales et légumineuses de Beauce.",
            2,
        ),
    ];
    for (d, (name, commune, description, rule)) in plan.iter().enumerate() {
        let (id, owner) = b.organisation(
            "distributor",
            name,
            siret(32, d as u64 + 1),
            commune,
            description,
        );
        b.areas.push((id, "departement", "91".to_owned()));
        let mut offers = Vec::new();
        let carried: Vec<usize> = (0..sellers.len())
            .filter(|i| match rule {
                0 => {
                    farms[*i].2
                        && sellers[*i]
                            .offers
                            .iter()
                            .any(|o| o.0.family == "FRUITS_ET_LEGUMES")
                }
                1 => farms[*i].1,
                _ => {
                    sellers[*i]
                        .offers
                        .iter()
                        .any(|o| o.0.family == "AUTRES" || o.0.family == "BOULANGERIE")
                        && !farms[*i].2
                }
            })
            .take(8)
            .collect();
        for i in carried {
            b.supply.push((id, owner, sellers[i].id, sellers[i].owner));
            for (farm_offer, usual) in sellers[i].offers.clone() {
                let n = b.offers.len() + 1;
                let mut row = farm_offer.clone();
                row.id = Uuid::from_u128(0x5e5a_0000_0000_7000_8002_0000_0000_0000 | n as u128);
                row.supplier_id = id;
                row.price_cents = farm_offer.price_cents * (120 + rng.below(20) as i64) / 100;
                row.delivery_weekdays = vec![1, 2, 3, 4, 5];
                row.area_epcis = Vec::new();
                row.area_departements = vec!["91".to_owned()];
                row.description =
                    format!("{} — de {} ({})", farm_offer.name, farms[i].3, farms[i].4);
                row.search_text = fold(&format!("{} {}", row.name, row.description));
                b.offers.push(row.clone());
                offers.push((row, usual));
            }
        }
        sellers.push(Seller {
            wholesale: false,
            id,
            owner,
            organic: *rule == 1,
            local: *rule == 0,
            weekdays: vec![1, 2, 3, 4, 5],
            offers,
        });
    }

    // A wholesaler of conventional produce from elsewhere, and a fish wholesaler.
    let (id, owner) = b.organisation(
        "distributor",
        "Halles de Rungis Distribution",
        siret(32, 4),
        "94065",
        "Grossiste en fruits et légumes, toutes origines.",
    );
    b.areas.push((id, "departement", "91".to_owned()));
    let mut offers = Vec::new();
    for (k, product) in catalogue::MARKET_GARDEN
        .products
        .iter()
        .chain(catalogue::ORCHARD.products)
        .enumerate()
    {
        let mut row = offer_row(
            id,
            (
                None,
                if k % 3 == 0 {
                    "Producteurs du Roussillon"
                } else {
                    "Coopérative du Val de Loire"
                },
                if k % 3 == 0 { "66136" } else { "49007" },
            ),
            product,
            Vec::new(),
            Terms {
                price_cents: product.price_cents * 80 / 100,
                weekdays: vec![1, 2, 3, 4, 5],
                area: (Vec::new(), vec!["91".to_owned()]),
            },
            today,
            b.offers.len() + 1,
        );
        // Imported out of season: on sale all year.
        row.available_from = None;
        row.available_until = None;
        if product.season.is_some() {
            row.origin = "EUROPE".to_owned();
            row.producer_name = "Import (Espagne)".to_owned();
            row.producer_commune_insee = "94065".to_owned();
        }
        b.offers.push(row.clone());
        offers.push((row, product.usual));
    }
    sellers.push(Seller {
        wholesale: true,
        id,
        owner,
        organic: false,
        local: false,
        weekdays: vec![1, 2, 3, 4, 5],
        offers,
    });

    // Fish wholesalers (no farm of the territory fishes): canteens spread
    // their fish between several, as they do around a wholesale market.
    let mareyeurs = [
        (
            "Marée de Rungis",
            "94065",
            ("Armement Boulonnais", "62160"),
            100,
        ),
        (
            "Pêcheries de la Manche",
            "91479",
            ("Criée de Port-en-Bessin", "14515"),
            96,
        ),
        (
            "Saveurs de l'Atlantique",
            "91027",
            ("Armement Lorientais", "56121"),
            104,
        ),
        (
            "Marée du Hurepoix",
            "91377",
            ("Criée de Brest", "29019"),
            98,
        ),
        (
            "Poissons de La Rochelle",
            "91201",
            ("Armement Rochelais", "17300"),
            102,
        ),
    ];
    for (n, (name, commune, producer, price_percent)) in mareyeurs.into_iter().enumerate() {
        let (id, owner) = b.organisation(
            "distributor",
            name,
            siret(32, 5 + n as u64),
            commune,
            "Mareyeur : poissons de pêche durable.",
        );
        b.areas.push((id, "departement", "91".to_owned()));
        let mut offers = Vec::new();
        for (k, product) in catalogue::FISH.iter().enumerate() {
            let labels = if k == 0 {
                vec!["PECHE_DURABLE".to_owned()]
            } else {
                Vec::new()
            };
            let row = offer_row(
                id,
                (None, producer.0, producer.1),
                product,
                labels,
                Terms {
                    price_cents: product.price_cents * price_percent / 100,
                    weekdays: vec![1, 2, 3, 4, 5],
                    area: (Vec::new(), vec!["91".to_owned()]),
                },
                today,
                b.offers.len() + 1,
            );
            b.offers.push(row.clone());
            offers.push((row, product.usual));
        }
        sellers.push(Seller {
            wholesale: true,
            id,
            owner,
            organic: false,
            local: false,
            weekdays: vec![1, 2, 3, 4, 5],
            offers,
        });
    }
}

fn canteens(b: &mut Builder, rng: &mut Rng, name_of: &dyn Fn(&str) -> String) -> Vec<Buyer> {
    let mut buyers = Vec::new();
    let mut n = 0u64;
    let mut add = |b: &mut Builder,
                   rng: &mut Rng,
                   name: String,
                   commune: &str,
                   sector: &str,
                   daily: i32,
                   days: i32,
                   economic: &str| {
        n += 1;
        let (id, owner) = b.organisation("canteen", &name, siret(33, n), commune, "");
        let definition =
            ["DEPARTEMENT", "DEPARTEMENT", "REGION", "COMMUNE", "PAT"][rng.below(5) as usize];
        b.canteens.push(CanteenRow {
            organisation_id: id,
            sectors: vec![sector.to_owned()],
            management_type: if rng.chance(0.75) {
                "direct"
            } else {
                "conceded"
            }
            .to_owned(),
            production_type: "site".to_owned(),
            economic_model: economic.to_owned(),
            daily_meal_count: daily,
            yearly_meal_count: daily * days,
            central_kitchen_siret: None,
            local_definition: definition.to_owned(),
            local_km: None,
        });
        let engaged = name.starts_with("École élémentaire Jean Macé") || rng.chance(0.18);
        buyers.push(Buyer {
            id,
            owner,
            daily_meals: daily,
            school: sector.starts_with("education"),
            engaged,
        });
        (id, owner)
    };
    let mut namesake = 0usize;
    for (insee, population) in CDEA {
        let commune = name_of(insee);
        let schools = ((f64::from(population) / 4200.0).round() as usize).max(1);
        for _ in 0..schools {
            // The showcased canteen is Jean Macé at Saint-Michel-sur-Orge;
            // the other schools take the other names in turn.
            let who = if insee == "91570"
                && !b
                    .organisations
                    .iter()
                    .any(|o| o.name.starts_with("École élémentaire Jean Macé"))
            {
                "Jean Macé"
            } else {
                NAMESAKES[1 + namesake % (NAMESAKES.len() - 1)]
            };
            namesake += 1;
            let name = format!("École élémentaire {who}, {commune}");
            let daily = 150 + rng.below(300) as i32;
            add(
                b,
                rng,
                name,
                insee,
                "education_primaire",
                daily,
                140,
                "public",
            );
        }
        for _ in 0..(f64::from(population) / 13000.0).round() as usize {
            let name = format!(
                "Collège {}, {commune}",
                NAMESAKES[1 + (namesake * 3) % (NAMESAKES.len() - 1)]
            );
            namesake += 1;
            let daily = 400 + rng.below(300) as i32;
            add(
                b,
                rng,
                name,
                insee,
                "education_secondaire_college",
                daily,
                140,
                "public",
            );
        }
        if population >= 11_000 {
            for k in 0..1 + usize::from(population > 30_000) {
                let name = format!(
                    "Lycée {}, {commune}",
                    NAMESAKES[1 + (namesake * 7 + k) % (NAMESAKES.len() - 1)]
                );
                let daily = 600 + rng.below(400) as i32;
                add(
                    b,
                    rng,
                    name,
                    insee,
                    "education_secondaire_lycee",
                    daily,
                    160,
                    "public",
                );
            }
        }
        for k in 0..(f64::from(population) / 16000.0).round() as usize {
            let name = format!("EHPAD {}, {commune}", EHPAD[(namesake + k) % EHPAD.len()]);
            let daily = 80 + rng.below(60) as i32;
            add(
                b,
                rng,
                name,
                insee,
                "social_ehpad",
                daily,
                365,
                if k % 2 == 0 { "public" } else { "private" },
            );
        }
        for k in 0..(f64::from(population) / 12000.0).round() as usize {
            let name = format!(
                "Crèche municipale {}, {commune}",
                ["Les Petits Pas", "Les Lutins", "Pomme d'Api"][k % 3]
            );
            let daily = 40 + rng.below(40) as i32;
            add(b, rng, name, insee, "social_creche", daily, 220, "public");
        }
    }
    add(
        b,
        rng,
        "Centre hospitalier d'Arpajon".to_owned(),
        "91021",
        "sante_hopital",
        900,
        365,
        "public",
    );
    add(
        b,
        rng,
        "Clinique du Val d'Orge".to_owned(),
        "91549",
        "sante_clinique",
        250,
        365,
        "private",
    );
    add(
        b,
        rng,
        "Maison d'arrêt de Fleury-Mérogis".to_owned(),
        "91235",
        "administration_prison",
        3000,
        365,
        "public",
    );
    for (k, insee) in [
        "91103", "91103", "91494", "91494", "91549", "91552", "91235", "91021", "91461", "91376",
    ]
    .iter()
    .enumerate()
    {
        let (name, sector) = if k % 3 == 2 {
            (
                format!("Restaurant inter-entreprises, {}", name_of(insee)),
                "entreprise_inter_entreprise",
            )
        } else {
            (
                format!(
                    "Restaurant d'entreprise {}, {}",
                    ["Base 217", "Parc d'activités", "Logistique Sud"][k % 3],
                    name_of(insee)
                ),
                "entreprise_entreprise",
            )
        };
        let daily = 200 + rng.below(400) as i32;
        add(b, rng, name, insee, sector, daily, 220, "private");
    }
    buyers
}

/// Writes the territory, all verified, every account with `password_hash`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    b: &Builder,
    password_hash: &str,
) -> QueryResult<()> {
    use crate::schema::{canteen_profiles, offers, organisations, supply_relationships};
    let user_rows: Vec<_> = b
        .users
        .iter()
        .map(|(id, email, name)| {
            (
                users::id.eq(*id),
                users::email.eq(email),
                users::display_name.eq(name),
                users::password_hash.eq(password_hash),
                users::is_admin.eq(email == "admin@sesame.demo"),
            )
        })
        .collect();
    diesel::insert_into(users::table)
        .values(&user_rows)
        .execute(conn)
        .await?;
    diesel::insert_into(organisations::table)
        .values(&b.organisations)
        .execute(conn)
        .await?;
    diesel::insert_into(canteen_profiles::table)
        .values(&b.canteens)
        .execute(conn)
        .await?;
    let members: Vec<_> = b
        .memberships
        .iter()
        .map(|(org, user)| {
            (
                memberships::organisation_id.eq(*org),
                memberships::user_id.eq(*user),
                memberships::role.eq("owner"),
            )
        })
        .collect();
    diesel::insert_into(memberships::table)
        .values(&members)
        .execute(conn)
        .await?;
    let certifications: Vec<_> = b
        .certifications
        .iter()
        .map(|(org, label)| {
            let bio = *label == "BIO";
            (
                farm_certifications::organisation_id.eq(*org),
                farm_certifications::label.eq(*label),
                farm_certifications::certificate_number
                    .eq(bio.then(|| format!("FR-BIO-01-{}", &org.simple().to_string()[24..]))),
                farm_certifications::certifying_body.eq(bio.then_some("Ecocert FR-BIO-01")),
            )
        })
        .collect();
    diesel::insert_into(farm_certifications::table)
        .values(&certifications)
        .execute(conn)
        .await?;
    let areas: Vec<_> = b
        .areas
        .iter()
        .map(|(org, kind, code)| {
            (
                delivery_areas::organisation_id.eq(*org),
                delivery_areas::area_kind.eq(*kind),
                delivery_areas::code.eq(code),
            )
        })
        .collect();
    diesel::insert_into(delivery_areas::table)
        .values(&areas)
        .execute(conn)
        .await?;
    let supply: Vec<_> = b
        .supply
        .iter()
        .enumerate()
        .map(|(n, (distributor, asked_by, farm, accepted_by))| {
            (
                supply_relationships::id.eq(Uuid::from_u128(
                    0x5e5a_0000_0000_7000_8005_0000_0000_0000 | (n as u128 + 1),
                )),
                supply_relationships::distributor_id.eq(*distributor),
                supply_relationships::farm_id.eq(*farm),
                supply_relationships::status.eq("accepted"),
                supply_relationships::requested_by.eq(*asked_by),
                supply_relationships::decided_by.eq(*accepted_by),
                supply_relationships::decided_at.eq(chrono::Utc::now()),
            )
        })
        .collect();
    diesel::insert_into(supply_relationships::table)
        .values(&supply)
        .execute(conn)
        .await?;
    for chunk in b.offers.chunks(500) {
        diesel::insert_into(offers::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

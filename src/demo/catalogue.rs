//! What the demonstration's farms produce: products, their season, unit,
//! price and VAT, grouped by kind of farm.

/// A product a kind of farm sells.
pub struct Product {
    pub name: &'static str,
    pub family: &'static str,
    pub unit: &'static str,
    /// Net content of a package unit (quantity, unit).
    pub package: Option<(&'static str, &'static str)>,
    /// Typical price HT in cents per unit.
    pub price_cents: i64,
    pub vat_rate: &'static str,
    /// Months on sale, inclusive and possibly across the new year; all year
    /// when `None`.
    pub season: Option<(u32, u32)>,
    pub min: &'static str,
    pub step: &'static str,
    /// A canteen's usual quantity per order, in units.
    pub usual: u32,
}

const fn p(
    name: &'static str,
    family: &'static str,
    unit: &'static str,
    price_cents: i64,
    season: Option<(u32, u32)>,
    usual: u32,
) -> Product {
    Product {
        name,
        family,
        unit,
        package: None,
        price_cents,
        vat_rate: "5.5",
        season,
        min: "1",
        step: "1",
        usual,
    }
}

const FL: &str = "FRUITS_ET_LEGUMES";

/// Kinds of farm: the family code they declare, the labels they may hold
/// beyond BIO and HVE, and what they sell.
pub struct FarmKind {
    pub label: &'static str,
    pub productions: &'static [&'static str],
    pub extra_labels: &'static [&'static str],
    pub products: &'static [Product],
}

pub static MARKET_GARDEN: FarmKind = FarmKind {
    label: "maraîchage",
    productions: &[FL],
    extra_labels: &[],
    products: &[
        p("Carottes", FL, "KGM", 150, None, 20),
        p("Pommes de terre", FL, "KGM", 110, None, 40),
        p("Poireaux", FL, "KGM", 260, Some((10, 3)), 10),
        p("Courge butternut", FL, "KGM", 220, Some((10, 2)), 15),
        p("Chou vert", FL, "KGM", 190, Some((10, 3)), 10),
        p("Salade batavia", FL, "H87", 95, Some((4, 11)), 30),
        p("Tomates", FL, "KGM", 340, Some((7, 9)), 15),
        p("Courgettes", FL, "KGM", 230, Some((6, 9)), 15),
        p("Haricots verts", FL, "KGM", 520, Some((6, 9)), 8),
        p("Radis", FL, "H87", 120, Some((4, 6)), 20),
        p("Fraises", FL, "KGM", 890, Some((5, 7)), 5),
    ],
};

pub static ORCHARD: FarmKind = FarmKind {
    label: "arboriculture",
    productions: &[FL, "BOISSONS"],
    extra_labels: &[],
    products: &[
        p("Pommes Reinette", FL, "KGM", 240, Some((9, 5)), 20),
        p("Poires Conférence", FL, "KGM", 290, Some((9, 1)), 10),
        p("Cerises", FL, "KGM", 950, Some((6, 7)), 4),
        Product {
            name: "Jus de pomme",
            family: "BOISSONS",
            unit: "LTR",
            package: None,
            price_cents: 260,
            vat_rate: "5.5",
            season: None,
            min: "6",
            step: "6",
            usual: 24,
        },
    ],
};

pub static CEREALS: FarmKind = FarmKind {
    label: "céréales et pain",
    productions: &["BOULANGERIE", "AUTRES"],
    extra_labels: &[],
    products: &[
        p("Pain de campagne 1 kg", "BOULANGERIE", "H87", 420, None, 15),
        p("Farine de blé T80", "AUTRES", "KGM", 180, None, 10),
        p("Lentilles vertes", "AUTRES", "KGM", 450, None, 6),
        p("Pois chiches", "AUTRES", "KGM", 480, None, 5),
    ],
};

pub static DAIRY: FarmKind = FarmKind {
    label: "lait et fromages",
    productions: &["PRODUITS_LAITIERS"],
    extra_labels: &["FERMIER"],
    products: &[
        Product {
            name: "Yaourt nature",
            family: "PRODUITS_LAITIERS",
            unit: "XPK",
            package: Some(("24", "H87")),
            price_cents: 790,
            vat_rate: "5.5",
            season: None,
            min: "1",
            step: "1",
            usual: 10,
        },
        p("Lait entier", "PRODUITS_LAITIERS", "LTR", 125, None, 30),
        p("Fromage blanc", "PRODUITS_LAITIERS", "KGM", 520, None, 8),
        p("Beurre doux", "PRODUITS_LAITIERS", "KGM", 1290, None, 2),
    ],
};

pub static BRIE: FarmKind = FarmKind {
    label: "brie",
    productions: &["PRODUITS_LAITIERS"],
    extra_labels: &["AOCAOP", "FERMIER"],
    products: &[
        p("Brie de Meaux", "PRODUITS_LAITIERS", "KGM", 1650, None, 3),
        p("Lait entier", "PRODUITS_LAITIERS", "LTR", 120, None, 30),
    ],
};

pub static EGGS: FarmKind = FarmKind {
    label: "œufs",
    productions: &["PRODUITS_LAITIERS"],
    extra_labels: &[],
    products: &[Product {
        name: "Œufs plein air",
        family: "PRODUITS_LAITIERS",
        unit: "XCR",
        package: Some(("30", "H87")),
        price_cents: 780,
        vat_rate: "5.5",
        season: None,
        min: "1",
        step: "1",
        usual: 6,
    }],
};

pub static POULTRY: FarmKind = FarmKind {
    label: "volailles",
    productions: &["VIANDES_VOLAILLES", "PRODUITS_LAITIERS"],
    extra_labels: &["LABEL_ROUGE", "FERMIER"],
    products: &[
        p(
            "Poulet fermier entier",
            "VIANDES_VOLAILLES",
            "KGM",
            890,
            None,
            12,
        ),
        p(
            "Cuisses de poulet",
            "VIANDES_VOLAILLES",
            "KGM",
            990,
            None,
            10,
        ),
        p(
            "Œufs fermiers (unité)",
            "PRODUITS_LAITIERS",
            "H87",
            32,
            None,
            180,
        ),
    ],
};

pub static LIVESTOCK: FarmKind = FarmKind {
    label: "élevage",
    productions: &["VIANDES_VOLAILLES", "CHARCUTERIE"],
    extra_labels: &["LABEL_ROUGE"],
    products: &[
        p(
            "Bœuf haché 15 %",
            "VIANDES_VOLAILLES",
            "KGM",
            1390,
            None,
            10,
        ),
        p("Sauté de porc", "VIANDES_VOLAILLES", "KGM", 1090, None, 8),
        p("Saucisses de Toulouse", "CHARCUTERIE", "KGM", 1150, None, 5),
    ],
};

pub static HONEY: FarmKind = FarmKind {
    label: "miel",
    productions: &["AUTRES"],
    extra_labels: &[],
    products: &[Product {
        name: "Miel de fleurs 500 g",
        family: "AUTRES",
        unit: "H87",
        package: None,
        price_cents: 690,
        vat_rate: "5.5",
        season: None,
        min: "6",
        step: "6",
        usual: 12,
    }],
};

/// What a fish wholesaler brings in (no farm of the territory fishes).
pub static FISH: &[Product] = &[
    Product {
        name: "Filet de colin MSC",
        family: "PRODUITS_DE_LA_MER",
        unit: "KGM",
        package: None,
        price_cents: 1290,
        vat_rate: "5.5",
        season: None,
        min: "2",
        step: "1",
        usual: 8,
    },
    p(
        "Filet de lieu noir",
        "PRODUITS_DE_LA_MER",
        "KGM",
        1150,
        None,
        8,
    ),
];

/// Kinds of farm, with how many of the demonstration's farms are of each.
pub static FARM_MIX: &[(&FarmKind, usize)] = &[
    (&MARKET_GARDEN, 20),
    (&ORCHARD, 8),
    (&CEREALS, 8),
    (&DAIRY, 6),
    (&BRIE, 2),
    (&EGGS, 5),
    (&POULTRY, 5),
    (&LIVESTOCK, 4),
    (&HONEY, 3),
];

/// Is a product with this season on sale in `month` (1–12)?
pub fn in_season(season: Option<(u32, u32)>, month: u32) -> bool {
    match season {
        None => true,
        Some((from, to)) if from <= to => (from..=to).contains(&month),
        Some((from, to)) => month >= from || month <= to,
    }
}

//! SQL for organisations, memberships and invitations.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, select, sql};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::dto::{CanteenProfile, Certification, DeliveryArea};
use crate::codes::{OrganisationStatus, Role};
use crate::schema::{
    canteen_profiles, communes, delivery_areas, departements, epcis, farm_certifications,
    invitations, memberships, organisations, users,
};

/// The category of the main sector of canteen profile `cp`, grouped as
/// ma-cantine groups sectors ("autres" goes with leisure): one of
/// `opendata::package::SECTOR_CATEGORIES`.
pub(crate) const SECTOR_CATEGORY_SQL: &str = "CASE WHEN cp.sectors[1] LIKE 'autres%' THEN 'loisir' \
     ELSE split_part(cp.sectors[1], '_', 1) END";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub siret: String,
    pub commune_insee: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub description: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub status: String,
    pub productions: Vec<String>,
    pub authority_epci: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = canteen_profiles)]
pub struct CanteenRow {
    pub organisation_id: Uuid,
    pub sectors: Vec<String>,
    pub management_type: String,
    pub production_type: String,
    pub economic_model: String,
    pub daily_meal_count: i32,
    pub yearly_meal_count: i32,
    pub central_kitchen_siret: Option<String>,
    pub local_definition: String,
    pub local_km: Option<i32>,
}

impl CanteenRow {
    pub fn new(organisation_id: Uuid, c: &CanteenProfile) -> Self {
        Self {
            organisation_id,
            sectors: c.sectors.iter().map(|s| s.as_str().to_owned()).collect(),
            management_type: c.management_type.as_str().to_owned(),
            production_type: c.production_type.as_str().to_owned(),
            economic_model: c.economic_model.as_str().to_owned(),
            daily_meal_count: c.daily_meal_count,
            yearly_meal_count: c.yearly_meal_count,
            central_kitchen_siret: c.central_kitchen_siret.clone(),
            local_definition: c.local_definition.as_str().to_owned(),
            local_km: c.local_km,
        }
    }
}

/// An organisation with everything its views show.
pub struct Loaded {
    pub row: OrganisationRow,
    pub siren: String,
    pub created_at: DateTime<Utc>,
    pub commune_name: String,
    pub departement: String,
    pub region: String,
    pub epci: Option<String>,
    pub certifications: Vec<Certification>,
    pub delivery_area: Vec<DeliveryArea>,
    pub canteen: Option<CanteenRow>,
}

pub async fn commune_exists(conn: &mut AsyncPgConnection, insee: &str) -> QueryResult<bool> {
    select(exists(communes::table.find(insee)))
        .get_result(conn)
        .await
}

pub async fn epci_exists(conn: &mut AsyncPgConnection, siren: &str) -> QueryResult<bool> {
    select(exists(epcis::table.find(siren)))
        .get_result(conn)
        .await
}

pub async fn departement_exists(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<bool> {
    select(exists(departements::table.find(code)))
        .get_result(conn)
        .await
}

/// Creates the organisation, its kind's details and the creator's ownership,
/// all or nothing.
pub async fn insert_organisation(
    conn: &mut AsyncPgConnection,
    row: &OrganisationRow,
    certifications: &[Certification],
    areas: &[DeliveryArea],
    canteen: Option<&CanteenRow>,
    owner: Uuid,
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        diesel::insert_into(organisations::table)
            .values(row)
            .execute(conn)
            .await?;
        replace_certifications(conn, row.id, certifications).await?;
        replace_delivery_area(conn, row.id, areas).await?;
        if let Some(canteen) = canteen {
            diesel::insert_into(canteen_profiles::table)
                .values(canteen)
                .execute(conn)
                .await?;
        }
        diesel::insert_into(memberships::table)
            .values((
                memberships::organisation_id.eq(row.id),
                memberships::user_id.eq(owner),
                memberships::role.eq(Role::Owner.as_str()),
            ))
            .execute(conn)
            .await
            .map(drop)
    })
    .await
}

/// Locks the organisation's row for the rest of the transaction, so that
/// concurrent replacements of its lists run one after the other.
async fn lock_organisation(conn: &mut AsyncPgConnection, organisation: Uuid) -> QueryResult<()> {
    organisations::table
        .find(organisation)
        .select(organisations::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .map(drop)
}

/// Replaces a farm's certifications, all or nothing.
pub async fn set_certifications(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    certifications: &[Certification],
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        lock_organisation(conn, organisation).await?;
        replace_certifications(conn, organisation, certifications).await?;
        // Offers naming the farm lose, at once, the labels it no longer holds.
        let held: Vec<String> = certifications
            .iter()
            .map(|c| c.label.as_str().to_owned())
            .collect();
        crate::catalog::consent::drop_uncertified_labels(conn, organisation, &held)
            .await
            .map(drop)
    })
    .await
}

async fn replace_certifications(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    certifications: &[Certification],
) -> QueryResult<()> {
    diesel::delete(
        farm_certifications::table.filter(farm_certifications::organisation_id.eq(organisation)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = certifications
        .iter()
        .map(|c| {
            (
                farm_certifications::organisation_id.eq(organisation),
                farm_certifications::label.eq(c.label.as_str()),
                farm_certifications::certificate_number
                    .eq(c.certificate_number.as_deref().map(str::trim)),
                farm_certifications::certifying_body
                    .eq(c.certifying_body.as_deref().map(str::trim)),
            )
        })
        .collect();
    diesel::insert_into(farm_certifications::table)
        .values(&rows)
        .execute(conn)
        .await
        .map(drop)
}

async fn replace_delivery_area(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    areas: &[DeliveryArea],
) -> QueryResult<()> {
    diesel::delete(delivery_areas::table.filter(delivery_areas::organisation_id.eq(organisation)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = areas
        .iter()
        .map(|a| {
            (
                delivery_areas::organisation_id.eq(organisation),
                delivery_areas::area_kind.eq(a.kind.as_str()),
                delivery_areas::code.eq(a.code.as_str()),
            )
        })
        .collect();
    diesel::insert_into(delivery_areas::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

/// The organisation's kind and status and the caller's role in it, for the
/// policy; `None` when it does not exist.
pub async fn access(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    user: Option<Uuid>,
) -> QueryResult<Option<(String, String, Option<String>)>> {
    let user = user.unwrap_or(Uuid::nil());
    organisations::table
        .left_join(
            memberships::table.on(memberships::organisation_id
                .eq(organisations::id)
                .and(memberships::user_id.eq(user))),
        )
        .filter(organisations::id.eq(organisation))
        .select((
            organisations::kind,
            organisations::status,
            memberships::role.nullable(),
        ))
        .first(conn)
        .await
        .optional()
}

/// An organisation row with its SIREN, creation time, commune name,
/// département, région and EPCI.
type WithPlace = (
    OrganisationRow,
    String,
    DateTime<Utc>,
    String,
    String,
    String,
    Option<String>,
);

/// Loads organisations with their place and details, in the order of `ids`.
pub async fn load(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Loaded>> {
    let rows: Vec<WithPlace> = organisations::table
        .inner_join(communes::table.inner_join(departements::table))
        .filter(organisations::id.eq_any(ids))
        .select((
            OrganisationRow::as_select(),
            organisations::siren,
            organisations::created_at,
            communes::name,
            departements::code,
            departements::region_code,
            communes::epci_siren,
        ))
        .load(conn)
        .await?;
    let mut certifications: HashMap<Uuid, Vec<Certification>> = HashMap::new();
    for (id, label, number, body) in farm_certifications::table
        .filter(farm_certifications::organisation_id.eq_any(ids))
        .order((
            farm_certifications::organisation_id,
            farm_certifications::label,
        ))
        .load::<(Uuid, String, Option<String>, Option<String>)>(conn)
        .await?
    {
        if let Ok(label) = label.parse() {
            certifications.entry(id).or_default().push(Certification {
                label,
                certificate_number: number,
                certifying_body: body,
            });
        }
    }
    let mut areas: HashMap<Uuid, Vec<DeliveryArea>> = HashMap::new();
    for (id, kind, code) in delivery_areas::table
        .filter(delivery_areas::organisation_id.eq_any(ids))
        .order((
            delivery_areas::organisation_id,
            delivery_areas::area_kind,
            delivery_areas::code,
        ))
        .load::<(Uuid, String, String)>(conn)
        .await?
    {
        if let Ok(kind) = kind.parse() {
            areas
                .entry(id)
                .or_default()
                .push(DeliveryArea { kind, code });
        }
    }
    let mut canteens: HashMap<Uuid, CanteenRow> = canteen_profiles::table
        .filter(canteen_profiles::organisation_id.eq_any(ids))
        .select(CanteenRow::as_select())
        .load(conn)
        .await?
        .into_iter()
        .map(|c| (c.organisation_id, c))
        .collect();
    let mut by_id: HashMap<Uuid, Loaded> = rows
        .into_iter()
        .map(
            |(row, siren, created_at, commune_name, departement, region, epci)| {
                let id = row.id;
                let loaded = Loaded {
                    certifications: certifications.remove(&id).unwrap_or_default(),
                    delivery_area: areas.remove(&id).unwrap_or_default(),
                    canteen: canteens.remove(&id),
                    row,
                    siren,
                    created_at,
                    commune_name,
                    departement,
                    region,
                    epci,
                };
                (id, loaded)
            },
        )
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Filters of the public directory.
#[derive(Default)]
pub struct Directory {
    pub kind: Option<String>,
    pub epci: Option<String>,
    pub commune: Option<String>,
    pub departement: Option<String>,
    pub label: Option<String>,
}

/// Ids of up to `limit` verified organisations matching, by name then id,
/// after the organisation `cursor` (and one more, to tell that a page
/// follows); `None` when `cursor` is no organisation.
pub async fn directory(
    conn: &mut AsyncPgConnection,
    filter: &Directory,
    limit: i64,
    cursor: Option<Uuid>,
) -> QueryResult<Option<Vec<Uuid>>> {
    if let Some(cursor) = cursor {
        let known = select(exists(organisations::table.find(cursor)))
            .get_result::<bool>(conn)
            .await?;
        if !known {
            return Ok(None);
        }
    }
    let mut query = organisations::table
        .inner_join(communes::table)
        .filter(organisations::status.eq(OrganisationStatus::Verified.as_str()))
        .into_boxed();
    if let Some(kind) = &filter.kind {
        query = query.filter(organisations::kind.eq(kind.clone()));
    }
    if let Some(epci) = &filter.epci {
        query = query.filter(communes::epci_siren.eq(epci.clone()));
    }
    if let Some(commune) = &filter.commune {
        query = query.filter(organisations::commune_insee.eq(commune.clone()));
    }
    if let Some(departement) = &filter.departement {
        query = query.filter(communes::departement_code.eq(departement.clone()));
    }
    if let Some(label) = &filter.label {
        query = query.filter(exists(
            farm_certifications::table
                .filter(farm_certifications::organisation_id.eq(organisations::id))
                .filter(farm_certifications::label.eq(label.clone())),
        ));
    }
    if let Some(cursor) = cursor {
        query = query.filter(
            sql::<Bool>("(organisations.name, organisations.id) > ")
                .sql("(SELECT o.name, o.id FROM organisations o WHERE o.id = ")
                .bind::<diesel::sql_types::Uuid, _>(cursor)
                .sql(")"),
        );
    }
    query
        .select(organisations::id)
        .order((organisations::name, organisations::id))
        .limit(limit + 1)
        .load(conn)
        .await
        .map(Some)
}

/// Field changes of an organisation's own row.
#[derive(AsChangeset, Default)]
#[diesel(table_name = organisations)]
pub struct OrganisationChanges {
    pub name: Option<String>,
    pub commune_insee: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub description: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub productions: Option<Vec<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    changes: &OrganisationChanges,
    areas: Option<&[DeliveryArea]>,
    canteen: Option<&CanteenRow>,
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        lock_organisation(conn, organisation).await?;
        diesel::update(organisations::table.find(organisation))
            .set(changes)
            .execute(conn)
            .await?;
        if let Some(areas) = areas {
            replace_delivery_area(conn, organisation, areas).await?;
        }
        if let Some(canteen) = canteen {
            diesel::update(canteen_profiles::table.find(organisation))
                .set(canteen)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Sets the organisation's status. A farm that is no longer verified stops
/// being named by distributors' offers at once: they are paused in the same
/// transaction (the offers trigger reads the farm's row FOR SHARE, so no
/// offer slips in meanwhile).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    status: OrganisationStatus,
) -> QueryResult<()> {
    use crate::catalog::consent::{PauseReason, pause_offers_naming};
    conn.transaction(async |conn| {
        diesel::update(organisations::table.find(organisation))
            .set((
                organisations::status.eq(status.as_str()),
                organisations::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        if status != OrganisationStatus::Verified {
            pause_offers_naming(conn, organisation, None, PauseReason::FarmNotVerified).await?;
        }
        Ok(())
    })
    .await
}

pub async fn members(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
) -> QueryResult<Vec<(Uuid, String, String, String, DateTime<Utc>)>> {
    memberships::table
        .inner_join(users::table)
        .filter(memberships::organisation_id.eq(organisation))
        .select((
            users::id,
            users::email,
            users::display_name,
            memberships::role,
            memberships::created_at,
        ))
        .order((memberships::created_at, users::id))
        .load(conn)
        .await
}

/// What a change of membership led to.
pub enum MembershipChange {
    Done,
    NotAMember,
    /// The caller is no longer allowed to do it (lost ownership meanwhile).
    NotAllowed,
    /// It would leave the organisation without an owner.
    LastOwner,
}

/// Who asks for a membership change.
pub struct Actor {
    pub user: Uuid,
    pub is_admin: bool,
}

/// Sets a member's role (`Some`) or removes them (`None`), refusing to leave
/// the organisation without an owner. The owners' rows are locked and the
/// caller's right is checked again under that lock, so that two owners
/// demoting or removing each other at once cannot both succeed.
pub async fn change_membership(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    actor: &Actor,
    user: Uuid,
    role: Option<Role>,
) -> QueryResult<MembershipChange> {
    conn.transaction(async |conn| {
        let owners: Vec<Uuid> = memberships::table
            .filter(memberships::organisation_id.eq(organisation))
            .filter(memberships::role.eq(Role::Owner.as_str()))
            .select(memberships::user_id)
            .for_update()
            .load(conn)
            .await?;
        let leaving_oneself = role.is_none() && actor.user == user;
        if !actor.is_admin && !leaving_oneself && !owners.contains(&actor.user) {
            return Ok(MembershipChange::NotAllowed);
        }
        let target = memberships::table.find((organisation, user));
        let current: Option<String> = target
            .select(memberships::role)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        if current.is_none() {
            return Ok(MembershipChange::NotAMember);
        }
        let loses_ownership = owners.contains(&user) && role != Some(Role::Owner);
        if loses_ownership && owners.len() == 1 {
            return Ok(MembershipChange::LastOwner);
        }
        match role {
            Some(role) => {
                diesel::update(target)
                    .set(memberships::role.eq(role.as_str()))
                    .execute(conn)
                    .await?
            }
            None => diesel::delete(target).execute(conn).await?,
        };
        Ok(MembershipChange::Done)
    })
    .await
}

#[derive(Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation<'a> {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_invitation(
    conn: &mut AsyncPgConnection,
    invitation: &NewInvitation<'_>,
) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values(invitation)
        .execute(conn)
        .await
        .map(drop)
}

pub enum Acceptance {
    Joined {
        organisation: Uuid,
        role: Role,
    },
    /// Unknown, expired, used, for another email, or from someone no longer
    /// owner: all look the same.
    Invalid,
}

/// Accepts an invitation for the user with `email`, once.
pub async fn accept_invitation(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    user: Uuid,
    email: &str,
) -> QueryResult<Acceptance> {
    conn.transaction(async |conn| {
        let found: Option<(Uuid, Uuid, String)> = invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::email.eq(email))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(Utc::now()))
            // An invitation is only as good as its author: it dies with
            // their ownership, or their administrator's rights (administrators
            // act as owners of every organisation without a membership).
            .filter(
                exists(
                    memberships::table
                        .filter(memberships::organisation_id.eq(invitations::organisation_id))
                        .filter(memberships::user_id.eq(invitations::invited_by))
                        .filter(memberships::role.eq(Role::Owner.as_str())),
                )
                .or(exists(
                    users::table
                        .filter(users::id.eq(invitations::invited_by))
                        .filter(users::is_admin)
                        .filter(users::disabled_at.is_null()),
                )),
            )
            .select((
                invitations::id,
                invitations::organisation_id,
                invitations::role,
            ))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((id, organisation, role)) = found else {
            return Ok(Acceptance::Invalid);
        };
        let Ok(role) = role.parse::<Role>() else {
            return Ok(Acceptance::Invalid);
        };
        diesel::update(invitations::table.find(id))
            .set(invitations::accepted_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        // Already a member: keep the stronger of the two roles.
        diesel::insert_into(memberships::table)
            .values((
                memberships::organisation_id.eq(organisation),
                memberships::user_id.eq(user),
                memberships::role.eq(role.as_str()),
            ))
            .on_conflict((memberships::organisation_id, memberships::user_id))
            .do_nothing()
            .execute(conn)
            .await?;
        if role == Role::Owner {
            diesel::update(memberships::table.find((organisation, user)))
                .set(memberships::role.eq(Role::Owner.as_str()))
                .execute(conn)
                .await?;
        }
        Ok(Acceptance::Joined { organisation, role })
    })
    .await
}

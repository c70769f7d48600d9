//! SQL for users and sessions.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::extract::AuthUser;
use super::token::REFRESH_TTL_DAYS;
use crate::schema::{memberships, organisations, refresh_tokens, sessions, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
}

pub async fn insert_user(conn: &mut AsyncPgConnection, user: &NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(User::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_user(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
}

/// The caller behind an access token, if its session is open and its user enabled.
pub async fn active_session_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> QueryResult<Option<AuthUser>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .select((users::id, users::email, users::is_admin))
        .first::<(Uuid, String, bool)>(conn)
        .await
        .optional()
        .map(|found| {
            found.map(|(id, email, is_admin)| AuthUser {
                id,
                session_id,
                email,
                is_admin,
            })
        })
}

/// Opens a session with its first refresh token (given as its hash).
pub async fn open_session(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_hash: &[u8],
) -> QueryResult<Uuid> {
    let session_id = Uuid::now_v7();
    conn.transaction(async |conn| {
        diesel::insert_into(sessions::table)
            .values((sessions::id.eq(session_id), sessions::user_id.eq(user_id)))
            .execute(conn)
            .await?;
        insert_refresh_token(conn, session_id, token_hash).await
    })
    .await?;
    Ok(session_id)
}

async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    token_hash: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::expires_at.eq(Utc::now() + Duration::days(REFRESH_TTL_DAYS)),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// The token was current: it is now used, and `new_hash` replaces it.
    Rotated { user_id: Uuid, session_id: Uuid },
    /// The token had already been used: someone replayed it, so its whole
    /// session (every token of the family) is now revoked.
    ReuseDetected,
    /// Unknown, expired, or its session or user is closed.
    Invalid,
}

/// Rotates a refresh token in one transaction; the row lock makes two
/// concurrent uses of one token count as a reuse.
pub async fn rotate_refresh_token(
    conn: &mut AsyncPgConnection,
    presented_hash: &[u8],
    new_hash: &[u8],
) -> QueryResult<Rotation> {
    conn.transaction(async |conn| {
        let found = refresh_tokens::table
            .inner_join(sessions::table.inner_join(users::table))
            .filter(refresh_tokens::token_hash.eq(presented_hash))
            .select((
                refresh_tokens::session_id,
                refresh_tokens::used_at,
                refresh_tokens::expires_at,
                sessions::revoked_at,
                sessions::user_id,
                users::disabled_at,
            ))
            .for_update()
            .first::<(
                Uuid,
                Option<DateTime<Utc>>,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
                Uuid,
                Option<DateTime<Utc>>,
            )>(conn)
            .await
            .optional()?;
        let Some((session_id, used_at, expires_at, revoked_at, user_id, disabled_at)) = found
        else {
            return Ok(Rotation::Invalid);
        };
        if used_at.is_some() {
            revoke_session(conn, session_id).await?;
            return Ok(Rotation::ReuseDetected);
        }
        if revoked_at.is_some() || disabled_at.is_some() || expires_at <= Utc::now() {
            return Ok(Rotation::Invalid);
        }
        diesel::update(refresh_tokens::table.find(presented_hash))
            .set(refresh_tokens::used_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        insert_refresh_token(conn, session_id, new_hash).await?;
        Ok(Rotation::Rotated {
            user_id,
            session_id,
        })
    })
    .await
}

pub async fn revoke_session(conn: &mut AsyncPgConnection, session_id: Uuid) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(drop)
}

/// Sets a new password hash and closes every session but `keep`.
pub async fn change_password(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    password_hash: &str,
    keep: Uuid,
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::id.ne(keep))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
    })
    .await
}

/// The user's memberships: organisation id, name, kind, status, role.
pub async fn memberships_of(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<(Uuid, String, String, String, String)>> {
    memberships::table
        .inner_join(organisations::table)
        .filter(memberships::user_id.eq(user_id))
        .select((
            organisations::id,
            organisations::name,
            organisations::kind,
            organisations::status,
            memberships::role,
        ))
        .order(organisations::name)
        .load(conn)
        .await
}

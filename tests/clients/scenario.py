"""The main flows of Sésame through the Python client generated from
openapi/openapi.json (tests/clients/generate.sh), against a service running
the demo (tests/clients/scenario.sh starts one).

Every call goes through the generated code: a body the client cannot parse
(a missing required field, a code outside its enum, a wrong type) raises, an
answer whose status the document does not declare raises (the client runs
with raise_on_unexpected_status), and each answer is checked for the model
the document promises.

Usage: python tests/clients/scenario.py http://127.0.0.1:PORT
"""

import datetime
import math
import sys
import uuid
from decimal import Decimal

from sesame_api_client import AuthenticatedClient, Client
from sesame_api_client.api.auth import login, me
from sesame_api_client.api.catalog import get_offer, search_offers
from sesame_api_client.api.consultations import list_consultations, list_open_consultations
from sesame_api_client.api.contracts import list_contracts
from sesame_api_client.api.delivery import get_delivery_terms
from sesame_api_client.api.egalim import (
    canteen_indicators,
    canteen_indicators_csv,
    territory_payment_delays,
    territory_progress,
    territory_statistics,
    territory_statistics_csv,
)
from sesame_api_client.api.geography import get_commune, get_epci, list_communes
from sesame_api_client.api.invoices import list_invoices
from sesame_api_client.api.opendata import (
    get_datapackage,
    get_release_csv,
    get_release_json,
    list_releases,
    publish_release,
)
from sesame_api_client.api.orders import (
    accept_order,
    checkout,
    get_order,
    list_orders,
    picking_list,
    picking_list_csv,
    read_feed,
)
from sesame_api_client.models import (
    BasketLine,
    CanteenIndicators,
    Checkout,
    CheckoutRequest,
    FeedPage,
    LoginRequest,
    Me,
    OfferPage,
    Order,
    OrderChangedEvent,
    OrderPage,
    OrderStatus,
    Problem,
    ProblemType,
    PublishRelease,
    Release,
    ReleaseResource,
    TerritoryStatistics,
    TokenPair,
)
from sesame_api_client.types import UNSET, Response, Unset

PASSWORD = "Sésame démo en Cœur d'Essonne"
CANTEEN = "contact@ecole-elementaire-jean-mace-saint-michel-sur-orge.demo"
FARM = "contact@ferme-de-l-envol.demo"
AUTHORITY = "pat@coeuressonne.demo"
EPCI = "200057859"


def expect(response: Response, status: int, model: type):
    """The answer has `status` and parsed as `model`."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert isinstance(response.parsed, model), (type(response.parsed), model)
    return response.parsed


def text(response: Response) -> str:
    """A CSV answer: 200, text/csv, a header row."""
    assert response.status_code == 200, (response.status_code, response.content[:500])
    assert response.headers["content-type"].startswith("text/csv"), response.headers
    body = response.content.decode()
    assert body.count("\n") >= 1, body
    return body


def session(base: str, email: str) -> tuple[AuthenticatedClient, Me]:
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    tokens = expect(
        login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=PASSWORD)),
        200,
        TokenPair,
    )
    client = AuthenticatedClient(
        base_url=base, token=tokens.access_token, raise_on_unexpected_status=True
    )
    return client, expect(me.sync_detailed(client=client), 200, Me)


def organisation(who: Me, kind: str) -> uuid.UUID:
    for membership in who.memberships:
        if membership.kind.value == kind:
            return membership.organisation_id
    raise AssertionError(f"no {kind} among {who.memberships}")


def main(base: str) -> None:
    public = Client(base_url=base, raise_on_unexpected_status=True)
    canteen, canteen_me = session(base, CANTEEN)
    farm, farm_me = session(base, FARM)
    authority, authority_me = session(base, AUTHORITY)
    canteen_id = organisation(canteen_me, "canteen")
    farm_id = organisation(farm_me, "farm")
    authority_id = organisation(authority_me, "authority")

    # Geography, public.
    communes = list_communes.sync_detailed(client=public, epci=EPCI, limit=50)
    assert communes.status_code == 200 and len(communes.parsed.items) == 21, communes.content[:300]
    assert communes.parsed.next_cursor is None, "one page"
    paged, cursor = [], UNSET
    while True:
        page = list_communes.sync_detailed(client=public, epci=EPCI, limit=8, cursor=cursor).parsed
        paged += [c.insee for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert paged == [c.insee for c in communes.parsed.items], paged
    assert get_commune.sync_detailed("91103", client=public).parsed.name
    assert get_epci.sync_detailed(EPCI, client=public).status_code == 200

    # The catalog, as the canteen: an offer of the farm it can buy.
    page = expect(search_offers.sync_detailed(client=canteen, supplier=farm_id, limit=50), 200, OfferPage)
    assert page.items, "the demo farm has offers"
    offer = next(
        o
        for o in page.items
        if o.status.value == "active"
        and o.next_delivery_dates
        and o.stock.availability.value in ("in_stock", "on_demand")
    )
    assert get_offer.sync_detailed(offer.id, client=canteen).parsed.id == offer.id
    terms = get_delivery_terms.sync_detailed(farm_id, client=public)
    assert terms.status_code == 200, terms.content[:300]
    minimum = terms.parsed.min_order_ht_cents

    # Checkout: enough for the farm's minimum order, at the offer's step.
    step = Decimal(offer.order_step)
    least = max(Decimal(offer.min_order_quantity), Decimal(minimum) / offer.price_cents + 1)
    quantity = max(step, step * math.ceil(least / step))
    basket = CheckoutRequest(
        buyer_id=canteen_id,
        delivery_date=offer.next_delivery_dates[-1],
        lines=[BasketLine(offer_id=offer.id, quantity=str(quantity))],
    )
    key = str(uuid.uuid4())
    made = expect(checkout.sync_detailed(client=canteen, body=basket, idempotency_key=key), 201, Checkout)
    again = expect(checkout.sync_detailed(client=canteen, body=basket, idempotency_key=key), 201, Checkout)
    assert again.checkout_id == made.checkout_id
    order = made.orders[0]
    assert order.status == OrderStatus.SUBMITTED

    # The order book on both sides, the lifecycle, the picking list.
    listed = expect(list_orders.sync_detailed(client=canteen, organisation_id=canteen_id), 200, OrderPage)
    assert order.id in [o.id for o in listed.items]
    assert isinstance(listed.next_cursor, (uuid.UUID, type(None))), listed.next_cursor
    accepted = expect(accept_order.sync_detailed(order.id, client=farm), 200, Order)
    assert accepted.status == OrderStatus.ACCEPTED
    assert expect(get_order.sync_detailed(order.id, client=canteen), 200, Order).status == OrderStatus.ACCEPTED
    picking = picking_list.sync_detailed(farm_id, client=farm, date=order.delivery_date)
    assert picking.status_code == 200 and picking.parsed.products, picking.content[:300]
    assert str(offer.id) in text(picking_list_csv.sync_detailed(farm_id, client=farm, date=order.delivery_date))

    # The integration feed: every event parses, the order's are there.
    feed = expect(read_feed.sync_detailed(farm_id, client=farm, limit=500), 200, FeedPage)
    while not isinstance(feed.next_cursor, (Unset, type(None))) and feed.items:
        more = expect(read_feed.sync_detailed(farm_id, client=farm, cursor=feed.next_cursor, limit=500), 200, FeedPage)
        if not more.items:
            break
        feed = more
    about = [e for e in feed.items if e.subject_id == order.id]
    assert about, [e.type_ for e in feed.items][-5:]
    assert all(isinstance(e, OrderChangedEvent) for e in about), about
    assert about[-1].type_.value == "order.accepted" and about[-1].data.order_id == order.id, about[-1]

    # EGalim: the canteen's indicators, the territory's figures, JSON and CSV.
    year = datetime.date.today().year
    indicators = expect(canteen_indicators.sync_detailed(canteen_id, client=canteen, year=year), 200, CanteenIndicators)
    assert [t.name.value for t in indicators.targets] == ["egalim", "bio", "meat_and_fish"]
    assert text(canteen_indicators_csv.sync_detailed(canteen_id, client=canteen, year=year)).startswith("scope,")
    stats = expect(territory_statistics.sync_detailed(authority_id, client=authority, year=year), 200, TerritoryStatistics)
    csv = text(territory_statistics_csv.sync_detailed(authority_id, client=authority, year=year))
    assert csv.count("\n") == len(stats.cells) + 1, (csv.count("\n"), len(stats.cells))
    assert territory_progress.sync_detailed(authority_id, client=authority, year=year).status_code == 200
    assert territory_payment_delays.sync_detailed(authority_id, client=authority, year=year).status_code == 200

    # Open data: the authority publishes last month; its files are public.
    last_month = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    published = expect(
        publish_release.sync_detailed(authority_id, client=authority, body=PublishRelease(from_=last_month, to=last_month)),
        201,
        Release,
    )
    releases = list_releases.sync_detailed(client=public, epci=EPCI)
    assert releases.status_code == 200, releases.content[:300]
    assert published.id in [r.id for r in releases.parsed.items], releases.content[:300]
    release = published
    assert get_datapackage.sync_detailed(release.id, client=public).status_code == 200
    rows = get_release_json.sync_detailed(release.id, ReleaseResource.SUPPLY_STATS, client=public)
    assert rows.status_code == 200 and isinstance(rows.parsed, list), rows.content[:300]
    assert text(get_release_csv.sync_detailed(release.id, ReleaseResource.SUPPLY_STATS, client=public))

    # Purchasing: consultations, contracts, invoices.
    consultations = list_consultations.sync_detailed(canteen_id, client=canteen, limit=1).parsed
    assert consultations.items and consultations.next_cursor, "the demo canteen has consultations"
    following = list_consultations.sync_detailed(canteen_id, client=canteen, cursor=consultations.next_cursor).parsed
    assert consultations.items[0].id not in [c.id for c in following.items]
    assert list_open_consultations.sync_detailed(farm_id, client=farm).status_code == 200
    assert list_contracts.sync_detailed(canteen_id, client=canteen).status_code == 200
    assert list_invoices.sync_detailed(canteen_id, client=canteen).status_code == 200

    # Errors are problem documents whose type is one of the enum's.
    missing = expect(get_order.sync_detailed(uuid.uuid4(), client=canteen), 404, Problem)
    assert isinstance(missing.type_, ProblemType), missing.type_
    assert missing.type_.value == "https://sesame.example/problems/not-found", missing.type_
    print(f"scenario: {len(feed.items)} feed events, {len(stats.cells)} statistics cells, order {order.id}: ok")


if __name__ == "__main__":
    main(sys.argv[1])

// Type-checked by generate.sh (tsc --noEmit --strict) against the types that
// openapi-typescript generates from openapi/openapi.json into
// target/clients/ts/api.d.ts. It exercises a few shapes a TypeScript client
// relies on, so that a change of the document that breaks them fails here.
import type { components, operations, paths } from "../../target/clients/ts/api";

type Schemas = components["schemas"];
type JsonBody<Op> = Op extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Content<Op, Status extends number> = Op extends {
  responses: { [S in Status]: { content: infer C } };
}
  ? C
  : never;

// Every error is an RFC 9457 problem document.
export function problemKey(p: Schemas["Problem"]): string {
  return `${p.status} ${p.type}: ${p.title} (${p.detail})`;
}

// A JSON request body and its JSON answer.
export const login: JsonBody<operations["login"]> = { email: "a@example.org", password: "secret" };
export function bearer(tokens: Content<operations["login"], 200>["application/json"]): string {
  return `${tokens.token_type} ${tokens.access_token}`;
}

// A path is addressable through `paths` too.
export type LoginPost = paths["/api/v1/auth/login"]["post"];
export const sameBody: JsonBody<LoginPost> = login;

// A report and its CSV form are two operations, each with one media type.
export function indicatorsJson(
  c: Content<operations["canteen_indicators"], 200>,
): Schemas["CanteenIndicators"] {
  return c["application/json"];
}
export function indicatorsCsv(c: Content<operations["canteen_indicators_csv"], 200>): string {
  return c["text/csv"];
}

// Codes are unions of literals: a switch over them is checked.
export function problemSlug(t: Schemas["Problem"]["type"]): string {
  return t.slice("https://sesame.example/problems/".length);
}
export function isOutOfStock(p: Schemas["Problem"]): boolean {
  return p.type === "https://sesame.example/problems/out-of-stock";
}

// A CSV request body is a string.
export const offersCsv: operations["import_offers"]["requestBody"] extends { content: { "text/csv": string } }
  ? string
  : never = "name,family\n";

// Type-checked by scripts/lint-openapi against the types openapi-typescript generates from the served document
// (escrow.d.ts): what a client written against the generated types relies on, as generated.
import type { components, paths } from "./escrow";

type Schemas = components["schemas"];

// Optional request fields can be left out; numbers are numbers.
const signup: Schemas["SignupRequest"] = { organizationName: "Alpha", organizationSlug: "alpha", email: "ana@alpha.example", password: "correct-horse-battery" };
const sharing: Schemas["SharingSettingRequest"] = { level: "counts" };
const withMinimum: Schemas["SharingSettingRequest"] = { level: "counts", minimumCount: 10 };

// Fields left out when null are optional in answers; closed sets are unions of their wire values.
const partnership: Schemas["PartnershipResponse"] = {
  id: "ptn_1", status: "active", role: "inviter", partner: { id: "org_1", slug: "beta", name: "Beta" }, createdAt: "2026-11-22T10:10:26+00:00",
};
const me: Schemas["MeResponse"] = { organization: { id: "org_1", slug: "alpha", name: "Alpha" }, kind: "member", id: "mem_1", role: "admin" };
const withheld: number | undefined = ({} as Schemas["OverlapCell"]).count ?? undefined;
const level: Schemas["OverlapCell"]["level"] = "overlaps";

// The cell list answers a JSON page or a CSV export.
type ListAnswer = paths["/v1/partnerships/{partnershipId}/overlaps/{myPopulationId}/{partnerPopulationId}"]["get"]["responses"][200]["content"];
const page: ListAnswer["application/json"]["items"] = [];
const csv: ListAnswer["text/csv"] = "recordId,matchedOn\r\n";

// Errors are typed problem details.
type Conflict = paths["/v1/populations"]["post"]["responses"][409]["content"]["application/problem+json"];
const conflict: Conflict = { type: "urn:overlap-escrow:problem:conflict", title: "Conflict", status: 409, detail: "Taken." };
type Invalid = paths["/v1/signup"]["post"]["responses"][400]["content"]["application/problem+json"];
const invalid: Invalid = { status: 400, errors: { email: ["email is a valid address."] } };
type Unauthorized = paths["/v1/me"]["get"]["responses"][401]["content"]["application/problem+json"];
const unauthorized: Unauthorized = { status: 401 };

// @ts-expect-error a status outside the enumeration is not a partnership status
const paused: Schemas["PartnershipResponse"]["status"] = "paused";
// @ts-expect-error a number sent as a string is not a number
const asString: Schemas["SharingSettingRequest"] = { level: "counts", minimumCount: "10" };

export const used = [signup, sharing, withMinimum, partnership, me, withheld, level, page, csv, conflict, invalid, unauthorized, paused, asString];

// Compiled with `tsc --strict` against the types openapi-typescript generates from the
// committed spec (`make clients`): a partner's TypeScript code as it would use them.
import type { components, paths } from "../../.tools/clients/passerelle";

type Referral = components["schemas"]["Referral"];
type ReferralPage = paths["/v1/referrals"]["get"]["responses"][200]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];

// A list page's items are the resource's own type, not an anonymous copy of it.
export function firstReferral(page: ReferralPage): Referral | undefined {
  return page.items[0];
}

export function overdue(referral: Referral): boolean {
  return referral.overdue && referral.status !== "accepted";
}

export function fieldsNamed(problem: Problem): string[] {
  return (problem.errors ?? []).map((e) => e.field);
}

type NewHousehold = paths["/v1/households"]["post"]["requestBody"]["content"]["application/json"];
export const household: NewHousehold = {
  head: { last_name: "Exemple", first_names: "Alice", birth_date: "1990-04-12" },
  household_type: "single_person",
  adults: 1,
  children: 0,
  monthly_resources_cents: 90000,
  housing_situation: "hotel",
};

// Events are a union discriminated by `type`: narrowing on it types `data`.
type Event = components["schemas"]["Event"];
export function acceptedHousehold(event: Event): string | undefined {
  if (event.type === "referral.accepted") {
    return event.data.household_id;
  }
  if (event.type === "sublease.arrears_recorded") {
    return event.data.amount_cents > 0 ? event.data.household_id : undefined;
  }
  return undefined;
}

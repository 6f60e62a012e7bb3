// Tenant slugs (the label of <slug>.<base domain>) and custom domain names. Pure.

/** A DNS label: lowercase letters, digits and inner hyphens, 3 to 40 characters. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$/;

/** A slug from a name: "Énergie Citoyenne du Val" -> "energie-citoyenne-du-val"; undefined when none fits. */
export function slugFrom(name: string): string | undefined {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return SLUG_PATTERN.test(slug) ? slug : undefined;
}

/** A domain name of at least two labels, each a DNS label (RFC 1035), lowercase. */
export const DOMAIN_PATTERN =
  /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

// Labels the deployment uses or may use for its own services under the base domain: "pubsub" above all,
// since pubsub.<base> is the PubSub service of the base domain itself.
const RESERVED = new Set([
  "pubsub",
  "conference",
  "muc",
  "upload",
  "proxy",
  "xmpp",
  "www",
  "api",
  "admin",
  "mail",
]);

/** Why a slug cannot be used, or undefined. */
export function slugProblem(slug: string): string | undefined {
  if (!SLUG_PATTERN.test(slug)) return "3 to 40 lowercase letters, digits or inner hyphens";
  if (RESERVED.has(slug)) return `"${slug}" is reserved for the deployment's own services`;
  return undefined;
}

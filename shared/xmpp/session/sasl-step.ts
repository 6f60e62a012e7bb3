import { type Element, xml } from "@xmpp/xml";
import { type Account, getAccount, recordLoginFailure, recordLoginSuccess } from "../../directory/accounts";
import type { LookupResult, SaslOutcome } from "../../sasl/server";
import { abortSasl, continueSasl, startSasl } from "../../sasl/server";
import { NS_SASL } from "../namespaces";
import { streamErrorFrames } from "../stream-errors";
import { sendNonza, type Turn } from "./turn";

/** Failed SASL attempts tolerated on one connection before it is closed (RFC 6120 6.4.5: 2 to 5). */
export const MAX_SASL_FAILURES_PER_CONNECTION = 3;

/** <auth/>, <response/> and <abort/> of RFC 6120 section 6, one step per frame. */
export async function saslStep(turn: Turn, el: Element): Promise<void> {
  const state = turn.state;
  const domain = state.domain ?? "";
  // Kept for the success path: the failure counters are reset only when there is something to reset.
  let account: Account | undefined;
  const lookup = async (username: string): Promise<LookupResult> => {
    account = await getAccount(`${username.toLowerCase()}@${domain}`);
    if (!account) return undefined;
    // A locked account answers like a disabled one, after the password was proven: a guesser learns nothing.
    if (account.disabled || account.lockedUntil > Date.now()) {
      return { disabled: true, credentials: account.credentials };
    }
    return account.credentials;
  };
  let outcome: SaslOutcome;
  if (el.name === "auth") {
    outcome = await startSasl(el.attrs.mechanism ?? "", textOf(el), lookup, { domain });
  } else if (el.name === "response") {
    if (!state.sasl)
      outcome = { kind: "failure", condition: "malformed-request", text: "no exchange in progress" };
    else outcome = await continueSasl(state.sasl, textOf(el) ?? "", lookup, { domain });
  } else {
    outcome = abortSasl(state.sasl);
  }

  if (outcome.kind === "challenge") {
    state.sasl = outcome.state;
    sendNonza(turn, xml("challenge", { xmlns: NS_SASL }, outcome.data || "="));
    return;
  }
  state.sasl = undefined;
  if (outcome.kind === "success") {
    const user = `${outcome.username.toLowerCase()}@${domain}`;
    if (account && (account.failedLogins > 0 || account.lockedUntil > 0)) await recordLoginSuccess(user);
    state.user = user;
    state.phase = "authenticated";
    sendNonza(turn, xml("success", { xmlns: NS_SASL }, outcome.data ?? ""));
    return;
  }
  // account-disabled comes only after the password was proven: not a guess, so it does not extend a lock.
  if (outcome.username && outcome.condition !== "aborted" && outcome.condition !== "account-disabled") {
    await recordLoginFailure(`${outcome.username.toLowerCase()}@${domain}`);
  }
  const failure = xml("failure", { xmlns: NS_SASL }, xml(outcome.condition));
  if (outcome.text) failure.cnode(xml("text", { "xml:lang": "en" }, outcome.text));
  sendNonza(turn, failure);
  if (outcome.condition === "aborted") return;
  state.saslFailures += 1;
  if (state.saslFailures >= MAX_SASL_FAILURES_PER_CONNECTION) {
    for (const f of streamErrorFrames("policy-violation", "too many failed authentication attempts"))
      sendNonza(turn, f);
    turn.closing = true;
  }
}

function textOf(el: Element): string | undefined {
  const t = el.getText();
  return t === "" ? undefined : t;
}

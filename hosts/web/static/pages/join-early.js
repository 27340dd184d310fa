// The invite's look-up, started as soon as the page arrives: this module imports nothing,
// so it runs while the page's other modules are still on their way, and a phone on a
// slow line has the invite's details one round trip sooner. The host also names the
// look-up in the page's Link header (rel=preload): the fetch below, plain (no extra
// headers, so it matches), then takes that answer.
const inviteToken = location.pathname.split("/").pop();

// { response, data } of GET /api/invites/<token>, or { error } when the network failed.
export const earlyInvite = fetch(`/api/invites/${inviteToken}`).then(
  async (response) => ({ response, data: await response.json().catch(() => ({})) }),
  (error) => ({ error }),
);

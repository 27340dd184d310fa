// The invite's look-up, started as soon as the page arrives: this module imports nothing,
// so it runs while the page's other modules are still on their way, and a phone on a
// slow line has the invite's details one round trip sooner.
const inviteToken = location.pathname.split("/").pop();

// { response, data } of GET /api/invites/<token>, or { error } when the network failed.
export const earlyInvite = fetch(`/api/invites/${inviteToken}`, { headers: { Accept: "application/json" } }).then(
  async (response) => ({ response, data: await response.json().catch(() => ({})) }),
  (error) => ({ error }),
);

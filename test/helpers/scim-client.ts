/** What an IdP does: JSON over HTTP to a directory's SCIM base URL with its bearer token. */
export type ScimCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function scimClient(dir: { scim_base_url: string; token: string }): ScimCall {
  return async (method, path, body) => {
    const res = await fetch(dir.scim_base_url + path, {
      method,
      headers: { authorization: `Bearer ${dir.token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

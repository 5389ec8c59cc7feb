/** PKCE (RFC 7636, S256 only, as the hub requires) and the random strings of a sign-in. */

export function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(byte);
  }
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `length` random bytes, base64url: 48 bytes make a 64-character verifier (43..128 allowed). */
export function randomString(length: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(length)));
}

export async function challengeS256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface PkcePair {
  verifier: string;
  challenge: string;
}

export async function createPkcePair(): Promise<PkcePair> {
  const verifier = randomString(48);
  return { verifier, challenge: await challengeS256(verifier) };
}

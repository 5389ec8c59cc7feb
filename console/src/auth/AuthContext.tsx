import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from "react";
import type { ConsoleConfig } from "../config";
import type { Session } from "./session";
import type { TokenSet } from "./tokens";

export interface Auth {
  config: ConsoleConfig;
  session: Session;
  tokens: TokenSet | null;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ session, children }: { session: Session; children: ReactNode }) {
  const [tokens, setTokens] = useState<TokenSet | null>(() => session.tokens.current());
  useEffect(() => {
    const unsubscribe = session.tokens.subscribe(setTokens);
    // Another tab signing out (or in) changes what this one may show.
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key.startsWith("yunfab-console:tokens:")) {
        setTokens(session.tokens.current());
      }
    };
    window.addEventListener("storage", onStorage);
    return () => {
      unsubscribe();
      window.removeEventListener("storage", onStorage);
    };
  }, [session]);
  const value = useMemo(() => ({ config: session.config, session, tokens }), [session, tokens]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) {
    throw new Error("useAuth outside AuthProvider");
  }
  return auth;
}

import { useState } from "react";
import { LogIn } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { $api, queryClient } from "@/lib/api";
import { startSession, useSession } from "@/lib/session";

/** Shown instead of the pages when the server has auth on and this tab has no valid session:
 * exchanges an API key for a short-lived session token (POST /api/v1/auth/login). Only the
 * token is kept (sessionStorage); the key leaves the form's memory once the login answers. */
export function LoginForm() {
  const session = useSession();
  const [key, setKey] = useState("");
  const login = $api.useMutation("post", "/api/v1/auth/login", {
    onSuccess: (data) => {
      setKey("");
      startSession(data.token, data.expires_at, data.key_name, data.admin);
      void queryClient.invalidateQueries();
    },
  });
  return (
    <div className="mx-auto mt-10 max-w-md">
      <Card>
        <CardHeader>
          <CardTitle>
            <h1 className="text-lg">Log in</h1>
          </CardTitle>
          <CardDescription>
            {session.expired
              ? "Your session has expired. Enter your API key to continue."
              : "This server has authentication on. Enter an API key (create one with `playground keys create`)."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <form
            className="space-y-3"
            onSubmit={(e) => {
              e.preventDefault();
              if (key.trim()) login.mutate({ body: { api_key: key.trim() } });
            }}
          >
            <div className="space-y-1">
              <Label htmlFor="login-key">API key</Label>
              <Input
                id="login-key"
                type="password"
                autoComplete="off"
                autoFocus
                placeholder="mp-..."
                value={key}
                onChange={(e) => setKey(e.target.value)}
              />
            </div>
            <ErrorAlert error={login.error} title="Login failed" />
            <Button type="submit" disabled={!key.trim() || login.isPending}>
              <LogIn /> Log in
            </Button>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}

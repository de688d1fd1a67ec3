import { NavLink, Outlet } from "react-router-dom";
import { BookOpen, Boxes, ClipboardList, Columns2, FlaskConical, ListChecks, MessageSquare, Moon, Settings as SettingsIcon, Sun } from "lucide-react";

import { LoginForm } from "@/components/LoginForm";
import { Button } from "@/components/ui/button";
import { $api } from "@/lib/api";
import { updateSettings, useSettings } from "@/lib/settings";
import { cn } from "@/lib/utils";

const NAV = [
  { to: "/", label: "Playground", icon: MessageSquare },
  { to: "/compare", label: "Compare", icon: Columns2 },
  { to: "/documents", label: "Documents", icon: BookOpen },
  { to: "/rag-lab", label: "RAG lab", icon: FlaskConical },
  { to: "/models", label: "Models", icon: Boxes },
  { to: "/prompt-runs", label: "Prompt sets", icon: ClipboardList },
  { to: "/batches", label: "Batches", icon: ListChecks },
  { to: "/settings", label: "Settings", icon: SettingsIcon },
];

export function Layout() {
  const { theme } = useSettings();
  const health = $api.useQuery("get", "/api/v1/health", {}, { refetchInterval: 15_000, retry: false });
  // Login, logout and an expired session invalidate this query, so the form comes and goes.
  const auth = $api.useQuery("get", "/api/v1/auth/status", {}, { staleTime: 30_000, retry: false });
  const needsKey = auth.data?.enabled && !auth.data.authenticated;
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:p-2">
        Skip to content
      </a>
      <aside className="flex shrink-0 flex-row items-center gap-1 border-b bg-card px-3 py-2 md:w-52 md:flex-col md:items-stretch md:border-b-0 md:border-r md:py-4">
        <div className="mr-3 flex items-center gap-2 px-2 md:mb-4 md:mr-0">
          <img src="/favicon.svg" alt="" className="h-6 w-6" />
          <span className="font-semibold tracking-tight">Mistral Playground</span>
        </div>
        <nav aria-label="Main" className="flex flex-1 flex-row gap-1 overflow-x-auto md:flex-col">
          {NAV.map(({ to, label, icon: Icon }) => (
            <NavLink
              key={to}
              to={to}
              end={to === "/"}
              className={({ isActive }) =>
                cn(
                  "flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium text-muted-foreground transition-colors hover:bg-accent hover:text-accent-foreground focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
                  isActive && "bg-accent text-foreground",
                )
              }
            >
              <Icon className="h-4 w-4" aria-hidden />
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="flex items-center gap-2 px-2 md:mt-4">
          <span
            className={cn("h-2 w-2 rounded-full", health.data ? "bg-green-500" : health.isError ? "bg-red-500" : "bg-yellow-500")}
            aria-hidden
          />
          <span className="text-xs text-muted-foreground">
            {health.data ? `API v${health.data.version}` : health.isError ? "API unreachable" : "Connecting…"}
          </span>
          <Button
            variant="ghost"
            size="icon"
            className="ml-auto"
            aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
            onClick={() => updateSettings({ theme: theme === "dark" ? "light" : "dark" })}
          >
            {theme === "dark" ? <Sun /> : <Moon />}
          </Button>
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1 p-4 md:p-6">
        {needsKey ? <LoginForm /> : <Outlet />}
      </main>
    </div>
  );
}

export function PageHeader({ title, description, children }: { title: string; description?: string; children?: React.ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {description && <p className="text-sm text-muted-foreground">{description}</p>}
      </div>
      {children && <div className="flex flex-wrap items-center gap-2">{children}</div>}
    </div>
  );
}

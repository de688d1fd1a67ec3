import { NavLink, Outlet } from "react-router-dom";
import {
  BookOpen,
  Boxes,
  ClipboardList,
  Columns2,
  FlaskConical,
  ListChecks,
  MessageSquare,
  Moon,
  PanelLeftClose,
  PanelLeftOpen,
  Settings as SettingsIcon,
  Sun,
} from "lucide-react";

import { LoginForm } from "@/components/LoginForm";
import { Button } from "@/components/ui/button";
import { $api } from "@/lib/api";
import { updateSettings, useSettings } from "@/lib/settings";
import { useSidebar } from "@/lib/sidebar";
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
  // Collapsed: icons only (names on hover and for screen readers), so pages get the width.
  const [collapsed, toggleSidebar] = useSidebar();
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:p-2">
        Skip to content
      </a>
      <aside
        data-testid="sidebar"
        data-collapsed={collapsed}
        className={cn(
          "flex shrink-0 flex-row items-center gap-1 border-b bg-card px-3 py-2 md:flex-col md:items-stretch md:border-b-0 md:border-r md:py-4",
          collapsed ? "md:w-14 md:px-2" : "md:w-52",
        )}
      >
        <div className={cn("mr-3 flex items-center gap-2 px-2 md:mb-4 md:mr-0", collapsed && "md:flex-col md:px-0")}>
          <img src="/favicon.svg" alt="" className="h-6 w-6" />
          <span className={cn("font-semibold tracking-tight", collapsed && "sr-only")}>Mistral Playground</span>
          <Button
            variant="ghost"
            size="icon"
            className={cn("h-8 w-8", !collapsed && "md:ml-auto")}
            aria-label={collapsed ? "Expand sidebar" : "Collapse sidebar"}
            aria-expanded={!collapsed}
            title={collapsed ? "Expand sidebar" : "Collapse sidebar"}
            onClick={toggleSidebar}
          >
            {collapsed ? <PanelLeftOpen /> : <PanelLeftClose />}
          </Button>
        </div>
        <nav aria-label="Main" className="flex flex-1 flex-row gap-1 overflow-x-auto md:flex-col">
          {NAV.map(({ to, label, icon: Icon }) => (
            <NavLink
              key={to}
              to={to}
              end={to === "/"}
              title={collapsed ? label : undefined}
              className={({ isActive }) =>
                cn(
                  "flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium text-muted-foreground transition-colors hover:bg-accent hover:text-accent-foreground focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
                  collapsed && "justify-center px-2",
                  isActive && "bg-accent text-foreground",
                )
              }
            >
              <Icon className="h-4 w-4 shrink-0" aria-hidden />
              <span className={cn(collapsed && "sr-only")}>{label}</span>
            </NavLink>
          ))}
        </nav>
        <div className={cn("flex items-center gap-2 px-2 md:mt-4", collapsed && "md:flex-col md:px-0")}>
          <span
            className={cn("h-2 w-2 shrink-0 rounded-full", health.data ? "bg-green-500" : health.isError ? "bg-red-500" : "bg-yellow-500")}
            title={health.data ? `API v${health.data.version}` : undefined}
            aria-hidden
          />
          <span className={cn("text-xs text-muted-foreground", collapsed && "sr-only")}>
            {health.data ? `API v${health.data.version}` : health.isError ? "API unreachable" : "Connecting…"}
          </span>
          <Button
            variant="ghost"
            size="icon"
            className={cn(!collapsed && "ml-auto")}
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

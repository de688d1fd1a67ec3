import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";

export type InputMode = "chat" | "completion";

/** Chat (messages through the chat template) or Completion (raw text to continue). */
export function ModeTabs({ value, onChange }: { value: InputMode; onChange: (mode: InputMode) => void }) {
  return (
    <Tabs value={value} onValueChange={(v) => onChange(v as InputMode)}>
      <TabsList aria-label="Mode">
        <TabsTrigger value="chat">Chat</TabsTrigger>
        <TabsTrigger value="completion">Completion</TabsTrigger>
      </TabsList>
    </Tabs>
  );
}

import type { ComponentProps, ReactNode } from "react";

import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";

/** A labelled multi-line box: the label above, the textarea (props passed on), then `children`
 * (a token count, a hint). */
export function TextareaField({ id, label, children, ...props }: ComponentProps<typeof Textarea> & { id: string; label: ReactNode }) {
  return (
    <div className="space-y-1">
      <Label htmlFor={id}>{label}</Label>
      <Textarea id={id} {...props} />
      {children}
    </div>
  );
}

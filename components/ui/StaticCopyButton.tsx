import type { CopyButtonProps } from "./copy-button-props";

/**
 * CopyButton's markup without its script, for HTML rendered once on the server (the finished
 * report): `wireCopyButtons` (CopyButton.tsx) gives it the same behaviour in the page.
 */
export function StaticCopyButton({ sourceId, href, label, className }: CopyButtonProps) {
  return (
    <button type="button" className={className ?? "btn"} data-copy-source={sourceId} data-copy-href={href}>
      {label}
      <span aria-live="polite" className="ml-1 font-normal" data-copy-status="" />
    </button>
  );
}

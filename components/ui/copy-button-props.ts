import type { ComponentType } from "react";

/** A copy button's props (CopyButton in React, StaticCopyButton in HTML rendered once). */
export interface CopyButtonProps {
  /** The text to copy, or… */
  text?: string;
  /** …the id of an element whose text content is copied (keeps large text out of the JS payload). */
  sourceId?: string;
  /** A path or URL made absolute against the current page before copying. */
  href?: string;
  label: string;
  className?: string;
}

export type CopyControl = ComponentType<CopyButtonProps>;

/** An ILIKE pattern that finds `text` anywhere: `%`, `_` and `\` in it are literal characters. */
export const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

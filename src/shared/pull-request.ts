/** A pull request as the task flows name it: repository and number, from its web URL. */
export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

/** A pull request's repository and number from its web URL (`https://github.com/acme/widgets/pull/12`, or a GHES host). */
export function parsePullRequestUrl(url: string): PullRequestRef | undefined {
  const match = /^https?:\/\/[^/]+\/([^/]+)\/([^/]+)\/pull\/(\d+)(?:[/?#].*)?$/.exec(url);
  if (!match) return undefined;
  return { owner: match[1]!, repo: match[2]!, number: Number(match[3]) };
}

/**
 * GitHub App authentication for many repositories: one App-level Octokit (JWT) finds the installation of a
 * repository, and one Octokit per installation calls the API with that installation's token. Tokens are
 * minted and cached by `@octokit/auth-app` (its LRU keeps each for 59 of its 60 minutes), so two calls
 * cost one `POST /app/installations/{id}/access_tokens`.
 * @see https://docs.github.com/en/rest/apps/apps?apiVersion=2022-11-28#get-a-repository-installation-for-the-authenticated-app
 * @see https://github.com/octokit/auth-app.js
 */
import { createAppAuth } from '@octokit/auth-app';
import type { RepoRef } from './github-client';
import { GitHubOctokit, type GitHubOctokitInstance, type GitHubOctokitOptions } from './octokit';

/** Octokits for the installations of one App. */
export interface AppOctokits {
  /** The Octokit of the installation that covers `repo`. */
  forRepo(repo: RepoRef, signal?: AbortSignal): Promise<GitHubOctokitInstance>;
  /** Drops what is known of `repo`'s installation (after a 401 or 404), so the next call looks it up again. */
  forget(repo: RepoRef): void;
}

/** Creates the App's Octokits; the private key stays inside auth-app's closure, never on an error or a log. */
export function createAppOctokits(common: GitHubOctokitOptions, appId: string | number, privateKey: string): AppOctokits {
  const app = new GitHubOctokit({ ...common, authStrategy: createAppAuth, auth: { appId, privateKey } });
  const installationOf = new Map<string, Promise<number>>();
  const byInstallation = new Map<number, GitHubOctokitInstance>();
  const keyOf = (repo: RepoRef) => `${repo.owner}/${repo.repo}`.toLowerCase();

  return {
    async forRepo(repo, signal) {
      const key = keyOf(repo);
      let installation = installationOf.get(key);
      if (!installation) {
        installation = app.rest.apps
          .getRepoInstallation({ owner: repo.owner, repo: repo.repo, ...(signal ? { request: { signal } } : {}) })
          .then((response) => response.data.id);
        installationOf.set(key, installation);
        installation.catch(() => installationOf.delete(key));
      }
      const installationId = await installation;
      let octokit = byInstallation.get(installationId);
      if (!octokit) {
        octokit = new GitHubOctokit({ ...common, authStrategy: createAppAuth, auth: { appId, privateKey, installationId } });
        byInstallation.set(installationId, octokit);
      }
      return octokit;
    },
    forget(repo) {
      installationOf.delete(keyOf(repo));
    },
  };
}

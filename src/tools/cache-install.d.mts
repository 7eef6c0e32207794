/** Types of cache-install.mjs (plain JavaScript so it runs before tsx is installed). */

/** The repository root. */
export declare const PROJECT_ROOT: string;

/** The default tool cache (`<root>/.tools`), ignored by git. */
export declare const DEFAULT_CACHE_DIR: string;

/** What {@link installIntoCache} needs to know about one tool. */
export interface CacheInstall {
  /** The cache directory (created when missing). */
  cacheDir: string;
  /** The tool's folder inside the cache. */
  folder: string;
  /** Writes the tool into `dir`, an empty temp folder beside the final one. */
  populate(dir: string): Promise<void>;
  /** Whether `dir` holds a complete install of the wanted version. */
  isInstalled(dir: string): Promise<boolean>;
  /** Called when another process renamed its copy into place first; that copy is used. */
  onRaceLost?(): void;
}

/**
 * Installs a tool into `<cacheDir>/<folder>` and returns that folder, safe when two processes race (each fills
 * its own temp folder and renames it into place).
 */
export declare function installIntoCache(install: CacheInstall): Promise<string>;

/** Whether anything exists at `path`. */
export declare function pathExists(path: string): Promise<boolean>;

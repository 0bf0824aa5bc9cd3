/** Domain types shared across stores. Timestamps are JS Dates; conversions live in services/convert. */
export type Labels = Record<string, string>;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Labels;
}

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

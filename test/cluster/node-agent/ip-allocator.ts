// Pod IPs from the pod CIDR. Allocation walks forward from the last address handed out, so a
// freed address is not reused at once (late packets of a deleted pod never reach a new one).

const toInt = (ip: string): number => {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`invalid IPv4 address ${JSON.stringify(ip)}`);
  }
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
};
const toIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export class IpAllocator {
  private readonly first: number;
  private readonly last: number;
  private readonly used = new Set<number>();
  private cursor: number;

  /** `cidr` like 10.244.0.0/16; `reserved` addresses (the gateway) are never handed out. */
  constructor(cidr: string, reserved: string[] = []) {
    const [base, len] = cidr.split('/');
    const prefix = Number(len);
    const size = 2 ** (32 - prefix);
    const network = toInt(base) - (toInt(base) % size);
    // Skip the network and broadcast addresses.
    this.first = network + 1;
    this.last = network + size - 2;
    for (const r of reserved) this.used.add(toInt(r));
    this.cursor = this.first - 1;
  }

  contains(ip: string): boolean {
    try {
      const n = toInt(ip);
      return n >= this.first && n <= this.last;
    } catch {
      return false;
    }
  }

  /** Claims a specific address (a pod keeping its IP across agent restarts); false if taken or outside. */
  reserve(ip: string): boolean {
    if (!this.contains(ip)) return false;
    const n = toInt(ip);
    if (this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  allocate(): string {
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      this.cursor = this.cursor >= this.last ? this.first : this.cursor + 1;
      if (!this.used.has(this.cursor)) {
        this.used.add(this.cursor);
        return toIp(this.cursor);
      }
    }
    throw new Error('pod CIDR exhausted');
  }

  release(ip: string): void {
    if (this.contains(ip)) this.used.delete(toInt(ip));
  }
}

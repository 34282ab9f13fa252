// The one address/CIDR parser and the matcher built from it: what config accepts is what the
// gateway matches, for IPv4, IPv6 and IPv4-mapped peers alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBlockList, blockListHas, compileAddressMatcher, parseAddressBlock, type AddressBlock } from '../../../src/config/address.js';

function block(text: string): AddressBlock {
  const r = parseAddressBlock(text);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reason}`);
  return r.block;
}

describe('parseAddressBlock', () => {
  it('parses addresses and blocks into the form a BlockList takes', () => {
    const cases: Array<[string, AddressBlock]> = [
      ['10.0.0.0/8', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
      ['192.0.2.7', { address: '192.0.2.7', prefix: 32, family: 'ipv4' }],
      [' 0.0.0.0/0 ', { address: '0.0.0.0', prefix: 0, family: 'ipv4' }],
      ['255.255.255.255/32', { address: '255.255.255.255', prefix: 32, family: 'ipv4' }],
      ['fd00::/8', { address: 'fd00::', prefix: 8, family: 'ipv6' }],
      ['::1', { address: '::1', prefix: 128, family: 'ipv6' }],
      ['2001:db8::1:0:0:1/64', { address: '2001:db8::1:0:0:1', prefix: 64, family: 'ipv6' }],
      // IPv4-mapped IPv6 stands for the IPv4 address or block.
      ['::ffff:10.1.2.3', { address: '10.1.2.3', prefix: 32, family: 'ipv4' }],
      ['::ffff:10.0.0.0/104', { address: '10.0.0.0', prefix: 8, family: 'ipv4' }],
      ['0:0:0:0:0:ffff:0a01:0203', { address: '10.1.2.3', prefix: 32, family: 'ipv4' }],
      ['::ffff:0:0/80', { address: '::ffff:0:0', prefix: 80, family: 'ipv6' }],
    ];
    for (const [text, want] of cases) assert.deepEqual(block(text), want, text);
  });

  it('says why a string is not an address', () => {
    const cases: Array<[string, RegExp]> = [
      ['300.1.1.1', /300 is not an octet \(0-255\)/],
      ['1.2.3.256/24', /256 is not an octet/],
      ['1.2.3', /four numbers/],
      ['1.2.3.4.5', /four numbers/],
      ['1..3.4', /empty octet/],
      ['01.2.3.4', /leading zero/],
      ['10.0.0.0/33', /\/33 is longer than 32 bits/],
      ['10.0.0.0/-1', /"\/-1" is not a number/],
      ['10.0.0.0/', /"\/" is not a number/],
      ['10.0.0.0/8/8', /more than one/],
      ['fd00::/129', /longer than 128 bits/],
      ['fd00:::1', /not a valid IPv6 address/],
      ['1:2:3:4:5:6:7:8:9', /not a valid IPv6 address/],
      ['::ffff:1.2.3.999', /embedded IPv4 part: 999 is not an octet/],
      ['fe80::1%eth0', /zone ids/],
      ['localhost', /host names are not resolved/],
      ['', /empty address/],
    ];
    for (const [text, why] of cases) {
      const r = parseAddressBlock(text);
      assert.ok(!r.ok, `${text} was accepted`);
      assert.match(r.reason, why, text);
      assert.ok(r.reason.startsWith(`"${text}" is not an IP address or CIDR block: `), r.reason);
    }
  });
});

describe('matching peers', () => {
  const trusted = compileAddressMatcher(['10.0.0.0/8', '192.0.2.7', 'fd00:1::/64', '::ffff:198.51.100.0/120'].map(block));

  it('matches IPv4, IPv6 and IPv4-mapped socket addresses against the same list', () => {
    for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', '192.0.2.7', '::ffff:192.0.2.7', 'fd00:1::5', 'FD00:1:0:0::5', '198.51.100.9', '::ffff:198.51.100.9', 'fd00:1::5%eth0']) {
      assert.equal(trusted(ip), true, ip);
    }
    for (const ip of ['11.0.0.1', '::ffff:11.0.0.1', '192.0.2.8', 'fd00:2::5', '198.51.101.1', '', undefined, 'not-an-ip', '10.0.0.0/8']) {
      assert.equal(trusted(ip), false, String(ip));
    }
  });

  it('buildBlockList and blockListHas are the same matcher in two steps', () => {
    const list = buildBlockList([block('127.0.0.1'), block('::1')]);
    assert.equal(blockListHas(list, '127.0.0.1'), true);
    assert.equal(blockListHas(list, '::ffff:127.0.0.1'), true);
    assert.equal(blockListHas(list, '::1'), true);
    assert.equal(blockListHas(list, '127.0.0.2'), false);
  });
});

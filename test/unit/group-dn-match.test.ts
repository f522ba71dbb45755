import { describe, expect, it } from 'vitest';
import { canonicalDn, firstCn, looksLikeGroupDn, parseDn } from '../../src/modules/membership-sync/ldap-dn.js';
import { desiredMemberships, groupKey, matchGroups } from '../../src/modules/membership-sync/rules.js';
import { checkGroupMatching } from '../../src/modules/membership-sync/group-check.js';
import { summarizeGroupWarnings } from '../../src/modules/reports/group-warnings.js';
import { emptyRun, type GroupMatching } from '../../src/modules/reports/sync-runs.js';
import { toLoginProfile } from '../../src/modules/sso/login-profile.js';
import { DEFAULT_SAML_MAPPING } from '../../src/modules/connections/attribute-mapping.js';

const cn = (dn: string) => {
  const rdns = parseDn(dn);
  return rdns && firstCn(rdns);
};

describe('LDAP DNs (RFC 4514, as directories send them)', () => {
  it('reads escaped commas, pluses, quotes, backslashes and hex-escaped UTF-8 in values', () => {
    expect(cn('CN=Smith\\, John,OU=People,DC=acme,DC=com')).toBe('Smith, John');
    expect(cn('CN=R\\26D \\2B Ops,OU=Groups,DC=acme,DC=com')).toBe('R&D + Ops');
    expect(cn('cn=a\\"b\\\\c,ou=x')).toBe('a"b\\c');
    expect(cn('CN=Caf\\C3\\A9,OU=Groups')).toBe('Café');
    expect(cn('CN="Sales, EMEA",OU=Groups')).toBe('Sales, EMEA');
    expect(cn('CN=\\ leading and trailing\\ ,OU=x')).toBe(' leading and trailing ');
  });
  it('takes the CN of a multi-valued first RDN, whatever its position or the type case', () => {
    expect(cn('uid=42+CN=Admins,OU=Groups,DC=acme,DC=com')).toBe('Admins');
    expect(cn('cN=admins , ou = Groups')).toBe('admins');
    expect(cn('2.5.4.3=Admins,OU=Groups')).toBe('Admins');
    expect(cn('OU=Groups,CN=Admins')).toBeNull();
  });
  it('spells one DN one way: spaces, escapes, type case and RDN order inside a multi-valued RDN', () => {
    const a = canonicalDn(parseDn('CN=Smith\\2C John + UID=js, OU=People ,DC=acme,DC=com')!);
    const b = canonicalDn(parseDn('uid=js+cn=Smith\\, John,ou=People,dc=acme,dc=com')!);
    expect(a).toBe(b);
    expect(a).toBe('cn=Smith\\, John+uid=js,ou=People,dc=acme,dc=com');
  });
  it('refuses what is not a DN', () => {
    for (const v of ['Engineering', 'a,b', '=x', 'CN=a,', 'CN=a\\', 'CN=a\\zz,OU=b', 'CN="open,OU=x', 'bad type=x', 'CN=#12G', '']) expect(parseDn(v), v).toBeNull();
    expect(looksLikeGroupDn('CN=Admins,OU=Groups,DC=acme,DC=com')).toBe(true);
    expect(looksLikeGroupDn('team=red')).toBe(false);
    expect(looksLikeGroupDn('uid=bob,ou=People,dc=acme,dc=com')).toBe(false);
  });
  it('parses hostile input in linear time', () => {
    const long = `CN=${'\\,'.repeat(2000)},OU=x`;
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) parseDn(long);
    parseDn('='.repeat(4000));
    parseDn(`CN=${'+'.repeat(4000)}`);
    parseDn(`CN=x${' '.repeat(4000)}y`);
    parseDn(`CN=${' \\ '.repeat(1300)}`);
    parseDn(`${'1.'.repeat(2000)}x=y`);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

const rules = (groups: string[] | null, organization_id = 'o1') => [{ organization_id, role: 'member' as const, groups }];

describe('matching group values against rules', () => {
  it('matches a DN rule group against the same DN spelled differently; a CN never matches in dn mode', () => {
    const dn = 'CN=Admins,OU=Groups,DC=acme,DC=com';
    expect(groupKey('cn=admins, ou=groups, dc=acme, dc=com')).toBe(groupKey(dn));
    expect(desiredMemberships(rules([dn]), matchGroups('dn', ['cn=ADMINS,ou=groups,dc=acme,dc=com']).tokens).has('o1')).toBe(true);
    expect(desiredMemberships(rules(['Admins']), matchGroups('dn', [dn]).tokens).has('o1')).toBe(false);
  });
  it('cn mode: a DN matches its CN, escapes and all; a bare CN= value or another RDN type does not', () => {
    const m = matchGroups('cn', ['CN=Smith\\, John\\2B Co,OU=Groups,DC=acme,DC=com', 'UID=ops,OU=Groups,DC=acme']);
    expect(desiredMemberships(rules(['smith, john+ co']), m.tokens).has('o1')).toBe(true);
    expect(desiredMemberships(rules(['ops']), m.tokens).has('o1')).toBe(false);
    expect(desiredMemberships(rules(['Admins']), matchGroups('cn', ['CN=Admins']).tokens).has('o1')).toBe(false);
    expect([...m.byCn]).toEqual([['smith, john+ co', ['CN=Smith\\, John\\2B Co,OU=Groups,DC=acme,DC=com']]]);
  });
});

describe('which login attributes look like groups', () => {
  it('mapped and known group names, and other attributes with group DNs; never identity, manager or own-DN attributes', () => {
    const profile = toLoginProfile('saml', 'bob@acme.com', {
      email: 'bob@acme.com',
      mail: 'CN=Bob,OU=People,DC=acme,DC=com',
      memberOf: ['CN=Staff,OU=Groups,DC=acme,DC=com'],
      Role: ['admin'],
      departmentGroups: ['CN=Sales,OU=Groups,DC=acme,DC=com'],
      manager: 'CN=Alice,OU=People,DC=acme,DC=com',
      distinguishedName: 'CN=Bob,OU=People,DC=acme,DC=com',
      'http://schemas.example.com/claims/userdn': 'CN=Bob,OU=People,DC=acme,DC=com',
      title: 'Engineer',
    }, DEFAULT_SAML_MAPPING);
    expect(profile.groupAttributes).toEqual([
      { name: 'memberOf', mapped: true, values: ['CN=Staff,OU=Groups,DC=acme,DC=com'] },
      { name: 'Role', mapped: false, values: ['admin'] },
      { name: 'departmentGroups', mapped: false, values: ['CN=Sales,OU=Groups,DC=acme,DC=com'] },
    ]);
  });
});

describe('the "groups matched no rule" check', () => {
  const memberOf = { name: 'memberOf', mapped: true, values: ['CN=Admins,OU=Groups,DC=acme,DC=com', 'CN=Staff,OU=Groups,DC=acme,DC=com'] };
  it('warns with the attribute, samples and the setting that would have matched', () => {
    expect(checkGroupMatching(rules(['Admins']), 'dn', [memberOf])).toEqual({
      unmatched: { attributes: [{ name: 'memberOf', mapped: true, count: 2, sample: memberOf.values }], would_match_by_cn: ['Admins'], would_match_if_mapped: [] },
      matched_by_cn: [],
    });
    const role = { name: 'Role', mapped: false, values: ['Admins'] };
    expect(checkGroupMatching(rules(['Admins']), 'dn', [role])?.unmatched).toMatchObject({ would_match_by_cn: [], would_match_if_mapped: ['Admins'] });
  });
  it('says nothing when a rule matched, when no rule names a group, or when no group-like value came', () => {
    expect(checkGroupMatching(rules([memberOf.values[0]!]), 'dn', [memberOf])).toBeNull();
    expect(checkGroupMatching(rules(null), 'dn', [memberOf])).toBeNull();
    expect(checkGroupMatching(rules(['Admins']), 'dn', [{ name: 'groups', mapped: true, values: [] }])).toBeNull();
  });
  it('records CN matches and keeps every part bounded', () => {
    expect(checkGroupMatching(rules(['Admins']), 'cn', [memberOf])).toEqual({ unmatched: null, matched_by_cn: [{ group: 'Admins', dns: [memberOf.values[0]] }] });
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `attr-${i}-${'x'.repeat(300)}`, mapped: true, values: Array.from({ length: 50 }, (_, j) => `g${j}-${'y'.repeat(500)}`) }));
    const u = checkGroupMatching(rules(['nope']), 'dn', many)!.unmatched!;
    expect(u.attributes).toHaveLength(5);
    expect(u.attributes[0]!.count).toBe(50);
    expect(u.attributes[0]!.sample).toHaveLength(5);
    expect(JSON.stringify(u).length).toBeLessThan(7000);
  });
  it('summarises a connection\'s logins: unmatched counts, and a CN standing for DNs in two OUs as ambiguous', () => {
    const run = (i: number, g: GroupMatching | null) => ({ ...emptyRun({ id: `r${i}`, trigger: 'login', user_id: 'u', connection_id: 'c', directory_id: null, at: `2026-12-06T08:0${i}:00.000Z` }), group_matching: g });
    const a = { group: 'admins', dns: ['CN=admins,OU=staff,DC=acme'] };
    const b = { group: 'Admins', dns: ['cn=admins,ou=contractors,dc=acme'] };
    const w = summarizeGroupWarnings([run(3, { unmatched: null, matched_by_cn: [b] }), run(2, { unmatched: null, matched_by_cn: [a] }), run(1, null)])!;
    expect(w.unmatched).toBeNull();
    expect(w.ambiguous_cn).toMatchObject([{ group: 'Admins', dns: ['cn=admins,ou=contractors,dc=acme', 'CN=admins,OU=staff,DC=acme'] }]);
    expect(summarizeGroupWarnings([run(2, { unmatched: null, matched_by_cn: [a] }), run(1, { unmatched: null, matched_by_cn: [a] })])).toBeNull();
  });
});

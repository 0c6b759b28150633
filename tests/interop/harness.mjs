// Interop harness: third-party signers and verifiers, driven by microcred's tests.
//
// Reads one JSON request from stdin:
//   {"tasks": [...], "httpHosts": ["127.0.0.1:PORT"]?, "hostMap": {"HOST": "http://127.0.0.1:PORT/PREFIX"}?};
// writes {"results": [...]} to stdout.
// A task is one of
//   {"op": "verify", "verifier": "digitalbazaar" | "dcc", "credential": {...}, "now": ISO?}
//   {"op": "sign", "suite": "eddsa-rdfc-2022" | "eddsa-jcs-2022" | "Ed25519Signature2020",
//    "credential": {...}, "seedHex": HEX, "created": ISO}
//   {"op": "canonize", "documents": [...]}: jsonld.js RDFC-1.0 N-Quads (safe mode) of each
//   {"op": "bench-verify" | "bench-sign", "credentials": [...], "seedHex": HEX?, "suite": S?}:
//    credentials per second through Digital Bazaar (for bench/, in the same run as microcred)
// The network is cut off: fetch() throws, and the Digital Bazaar document loader serves only
// microcred's vendored contexts (and test-only ones), checked against their SHA-256, plus did:key.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import jsonld from 'jsonld';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as rdfcSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as jcsSignSuite, createVerifyCryptosuite as jcsVerifySuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {checkStatus as checkStatusList2021} from '@digitalbazaar/vc-status-list';

const here = dirname(fileURLToPath(import.meta.url));
const schemaDir = join(here, '..', '..', 'src', 'microcred', 'vc', 'schemas');
const contextFiles = join(here, '..', '..', 'src', 'microcred', 'vc', 'contexts');
// The DCC verifier fetches the 1EdTech schema it guesses, and any context its loader does not
// carry (the CLR 2.0 context): serve microcred's vendored copies, as the 1EdTech site would.
const offlineDocuments = {
  'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json':
    join(schemaDir, 'achievementcredential.json'),
  'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json':
    join(contextFiles, 'purl.imsglobal.org_spec_clr_v2p0_context-2.0.1.json')
};
// The only network allowed: plain http to the loopback hosts a test names ("httpHosts"), where
// microcred's own server runs; did:web's https is rewritten to http for those hosts. "hostMap"
// serves other hosts' https URLs from a loopback server, under their own names: https://HOST/PATH
// is read from BASE/PATH (the corpus re-serves third-party status lists and DID documents so).
const realFetch = globalThis.fetch;
const httpHosts = new Set();
const hostMap = new Map();
function allowedUrl(url) {
  const parsed = new URL(String(url));
  const base = hostMap.get(parsed.host);
  if(base) {
    return `${base}${parsed.pathname}${parsed.search}`;
  }
  if(!httpHosts.has(parsed.host)) {
    return null;
  }
  parsed.protocol = 'http:';
  return parsed.toString();
}
globalThis.fetch = async (url, options) => {
  const target = typeof url === 'object' && url.url ? url.url : String(url);
  const file = offlineDocuments[target];
  if(file) {
    return new Response(readFileSync(file), {headers: {'content-type': 'application/json'}});
  }
  const allowed = allowedUrl(target);
  if(allowed) {
    return realFetch(allowed, options);
  }
  throw new Error(`network access refused in the interop harness: ${url}`);
};
// Libraries log to stdout; keep stdout for the JSON answer.
console.log = (...args) => console.error(...args);

const contextDir = join(here, '..', '..', 'src', 'microcred', 'vc', 'contexts');
const fixtureDir = join(here, '..', 'fixtures', 'contexts');

function loadContexts() {
  const contexts = new Map();
  const index = JSON.parse(readFileSync(join(contextDir, 'index.json'), 'utf8'));
  for(const [url, {file, sha256}] of Object.entries(index)) {
    const raw = readFileSync(join(contextDir, file));
    const digest = createHash('sha256').update(raw).digest('hex');
    if(digest !== sha256) {
      throw new Error(`context ${file} does not match its SHA-256`);
    }
    contexts.set(url, JSON.parse(raw.toString('utf8')));
  }
  const extra = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8'));
  for(const [url, file] of Object.entries(extra)) {
    contexts.set(url, JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')));
  }
  return contexts;
}

const contexts = loadContexts();
const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function fetchJson(url) {
  const response = await globalThis.fetch(url, {headers: {accept: 'application/json'}});
  if(!response.ok) {
    throw new Error(`HTTP ${response.status} for ${url}`);
  }
  return response.json();
}

// did:web per the method spec: did:web:HOST[%3APORT]:path -> https://HOST[:PORT]/path/did.json
function didWebUrl(did) {
  const [host, ...path] = did.slice('did:web:'.length).split(':');
  const origin = `https://${decodeURIComponent(host)}`;
  return path.length ? `${origin}/${path.map(decodeURIComponent).join('/')}/did.json` :
    `${origin}/.well-known/did.json`;
}

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKey.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    const didDocument = await fetchJson(didWebUrl(did));
    if(didDocument.id !== did) {
      throw new Error(`${url}: the DID document names ${didDocument.id}`);
    }
    if(!fragment) {
      return {contextUrl: null, documentUrl: url, document: didDocument};
    }
    // the key may be listed in verificationMethod or embedded under a relationship
    const listed = ['verificationMethod', 'assertionMethod', 'authentication'].flatMap(
      name => didDocument[name] || []);
    const method = listed.find(m => typeof m === 'object' && m.id === url);
    if(!method) {
      throw new Error(`${did} does not list ${url}`);
    }
    const document = {'@context': 'https://w3id.org/security/multikey/v1', ...method};
    return {contextUrl: null, documentUrl: url, document};
  }
  if(allowedUrl(url)) {
    return {contextUrl: null, documentUrl: url, document: await fetchJson(url)};
  }
  throw new Error(`document not allowed offline: ${url}`);
}

// Digital Bazaar's status checkers: Bitstring Status List (VC 2.0) and StatusList2021 (VC 1.1),
// chosen by the entry type as an application using both libraries would.
async function checkStatus(options) {
  const entries = [].concat(options.credential?.credentialStatus || []);
  if(entries.some(entry => entry?.type === 'StatusList2021Entry')) {
    return checkStatusList2021(options);
  }
  return checkBitstringStatus(options);
}

const verifySuites = [
  new DataIntegrityProof({cryptosuite: rdfcSuite}),
  new DataIntegrityProof({cryptosuite: jcsVerifySuite()}),
  new Ed25519Signature2020()
];

function summarise(error) {
  if(!error) {
    return undefined;
  }
  const errors = Array.isArray(error) ? error : (error.errors || [error]);
  return errors.map(e => (e && (e.message || e.name)) || String(e)).join('; ');
}

async function verifyDigitalBazaar({credential, now}) {
  const options = {credential, suite: verifySuites, documentLoader};
  if(now) {
    options.now = new Date(now);
  }
  if(credential.credentialStatus) {
    options.checkStatus = checkStatus;
  }
  const result = await vc.verifyCredential(options);
  const statuses = statusesOf(result);
  // @digitalbazaar/vc reports status bits and leaves the decision to the application; as an
  // application, we take a set revocation or suspension bit as "not verified".
  return {
    verified: result.verified === true && !statuses.some(s => s.set),
    error: summarise(result.error || result.statusResult?.error),
    statuses
  };
}

// The status bits one credential's result reports: Bitstring Status List gives each entry's bit
// (status); StatusList2021 answers "verified: false" for an entry whose bit is set.
function statusesOf(result) {
  return (result.statusResult?.results || []).map(r => ({
    purpose: r.credentialStatus?.statusPurpose, set: r.status ?? r.verified === false,
    verified: r.verified
  }));
}

let dcc;
async function verifyDcc({credential, registries}) {
  dcc ??= await import('@digitalcredentials/verifier-core');
  const result = await dcc.verifyCredential({credential, knownDIDRegistries: registries || []});
  if(result.errors) {
    return {verified: false, error: result.errors.map(e => `${e.name}: ${e.message}`).join('; ')};
  }
  const log = result.log || [];
  const failed = log.filter(entry => entry.valid === false).map(entry => entry.id);
  // registered_issuer is about trust lists (none are configured here), not authenticity.
  const blocking = failed.filter(id => id !== 'registered_issuer');
  // A status list it could not use is logged as an error, not "valid: false"; the DCC apps show
  // it as a failure of the status check, and so do we.
  const statusErrors = log.filter(entry => entry.error).map(
    entry => `${entry.id}: ${entry.error.name}`);
  return {
    verified: blocking.length === 0 && statusErrors.length === 0,
    error: [...blocking, ...statusErrors].join(', ') || undefined,
    log
  };
}

async function signerKey({seedHex, did, keyId}) {
  const keyPair = await Ed25519Multikey.generate({seed: Buffer.from(seedHex, 'hex')});
  const controller = did || `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = controller;
  keyPair.id = keyId || `${controller}#${keyPair.publicKeyMultibase}`;
  return {keyPair, did: controller};
}

async function signPresentation({presentation, seedHex, did, keyId, challenge, domain, created}) {
  const {keyPair} = await signerKey({seedHex, did, keyId});
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), date: created ? new Date(created) : undefined, cryptosuite: rdfcSuite
  });
  const signed = await vc.signPresentation({presentation, suite, challenge, domain, documentLoader});
  return {signed};
}

async function verifyPresentationDigitalBazaar({presentation, challenge, domain}) {
  const result = await vc.verify({
    presentation, challenge, domain, suite: verifySuites, documentLoader,
    checkStatus
  });
  const credentialsOk = (result.credentialResults || []).every(
    r => r.verified && !statusesOf(r).some(s => s.set));
  return {
    verified: result.verified === true && credentialsOk,
    error: summarise(result.error || result.presentationResult?.error)
  };
}

async function sign({suite, credential, seedHex, created, did: didOption, keyId}) {
  const {keyPair, did} = await signerKey({seedHex, did: didOption, keyId});
  const signer = keyPair.signer();
  const date = created ? new Date(created) : undefined;
  let signingSuite;
  if(suite === 'eddsa-rdfc-2022') {
    signingSuite = new DataIntegrityProof({signer, date, cryptosuite: rdfcSuite});
  } else if(suite === 'eddsa-jcs-2022') {
    signingSuite = new DataIntegrityProof({signer, date, cryptosuite: jcsSignSuite()});
  } else if(suite === 'Ed25519Signature2020') {
    signingSuite = new Ed25519Signature2020({signer, date});
  } else {
    throw new Error(`unknown suite ${suite}`);
  }
  const signed = await vc.issue({credential, suite: signingSuite, documentLoader});
  return {signed, did};
}

async function canonize({documents}) {
  const nquads = [];
  for(const document of documents) {
    try {
      nquads.push(await jsonld.canonize(document, {
        algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
      }));
    } catch(e) {
      nquads.push({error: `${e.name}: ${e.message}`});
    }
  }
  return {nquads};
}

// Credentials per second, one at a time as a verifier serves them (the status check answers at
// once: the benchmark compares the rest of the path).
async function benchVerify({credentials}) {
  const start = process.hrtime.bigint();
  let verified = 0;
  let error;
  for(const credential of credentials) {
    const result = await vc.verifyCredential({
      credential, suite: verifySuites, documentLoader, checkStatus: async () => ({verified: true})
    });
    verified += result.verified === true ? 1 : 0;
    error ??= summarise(result.error);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {rate: credentials.length / seconds, verified, error};
}

async function benchSign({credentials, seedHex, suite}) {
  const {keyPair} = await signerKey({seedHex});
  const signer = keyPair.signer();
  const start = process.hrtime.bigint();
  for(const credential of credentials) {
    const cryptosuite = suite === 'eddsa-jcs-2022' ? jcsSignSuite() : rdfcSuite;
    const signingSuite = new DataIntegrityProof({signer, cryptosuite});
    await vc.issue({credential, suite: signingSuite, documentLoader});
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {rate: credentials.length / seconds};
}

async function run(task) {
  try {
    if(task.op === 'canonize') {
      return await canonize(task);
    }
    if(task.op === 'bench-verify') {
      return await benchVerify(task);
    }
    if(task.op === 'bench-sign') {
      return await benchSign(task);
    }
    if(task.op === 'verify' && task.verifier === 'digitalbazaar') {
      return await verifyDigitalBazaar(task);
    }
    if(task.op === 'verify' && task.verifier === 'dcc') {
      return await verifyDcc(task);
    }
    if(task.op === 'sign') {
      return await sign(task);
    }
    if(task.op === 'sign-presentation') {
      return await signPresentation(task);
    }
    if(task.op === 'verify-presentation' && task.verifier === 'digitalbazaar') {
      return await verifyPresentationDigitalBazaar(task);
    }
    if(task.op === 'verify-presentation' && task.verifier === 'dcc') {
      dcc ??= await import('@digitalcredentials/verifier-core');
      const result = await dcc.verifyPresentation({
        presentation: task.presentation, challenge: task.challenge, knownDIDRegistries: []
      });
      const signatureOk = result.presentationResult?.signature === 'valid';
      const credentialsOk = (result.credentialResults || []).every(
        r => !r.errors && (r.log || []).every(
          e => (e.valid !== false || e.id === 'registered_issuer') && !e.error));
      return {
        verified: signatureOk && credentialsOk, signatureOk, credentialsOk,
        error: JSON.stringify(result.presentationResult || result.errors)
      };
    }
    return {error: `unknown task ${JSON.stringify(task.op)}`};
  } catch(e) {
    return {verified: false, error: `${e.name}: ${e.message}`};
  }
}

const input = JSON.parse(readFileSync(0, 'utf8'));
for(const host of input.httpHosts || []) {
  httpHosts.add(host);
}
for(const [host, base] of Object.entries(input.hostMap || {})) {
  hostMap.set(host, base);
}
const results = [];
for(const task of input.tasks) {
  results.push(await run(task));
}
process.stdout.write(JSON.stringify({results}));
